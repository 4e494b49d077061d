use std::fmt::Display;
use std::io::{self, BufReader, Cursor, Read};

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::json;
use zip::result::ZipError;
use zip::ZipArchive;

use crate::{media, writer::TextWriter, ExtractError, Extracted, Limits};

const BODY: &str = "word/document.xml";

/// Real DOCX text comes in runs of a few hundred bytes. A long stretch without a single `<` is
/// padding built to exhaust memory: quick-xml buffers a whole text node before handing it over.
const MAX_MARKUP_FREE_RUN: u64 = 16 * 1024 * 1024;

type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    let mut budget = limits.max_decompressed_bytes;

    let body = read_body(&mut archive, &mut budget, limits)?;
    let properties = read_properties(&mut archive, &mut budget)?;

    let mut metadata = json!({});
    if let Some(title) = properties.title.or(body.styled_title) {
        metadata["title"] = title.into();
    }
    if let Some(author) = properties.author {
        metadata["author"] = author.into();
    }
    Ok(Extracted {
        media_type: media::DOCX.to_owned(),
        text: body.text,
        // Page count is a product of layout, which only the authoring app knows: trust the
        // count it saved, else count the breaks the author forced.
        pages: properties
            .pages
            .unwrap_or(body.page_breaks.saturating_add(1)),
        metadata,
    })
}

struct Body {
    text: String,
    styled_title: Option<String>,
    page_breaks: u32,
}

fn read_body(
    archive: &mut Archive<'_>,
    budget: &mut u64,
    limits: &Limits,
) -> Result<Body, ExtractError> {
    let mut xml =
        open_part(archive, BODY, budget)?.ok_or_else(|| corrupt(format!("{BODY} is missing")))?;
    let mut w = TextWriter::new(limits.max_text_chars);
    let mut buf = Vec::new();
    // Paragraphs nest (text boxes live inside a run of the outer paragraph): one entry per open
    // <w:p> with where its text starts and its style id.
    let mut paragraphs: Vec<(usize, Option<String>)> = Vec::new();
    // Cells seen so far in each open table row (tables nest inside cells).
    let mut rows: Vec<usize> = Vec::new();
    let mut run_depth = 0usize;
    let mut in_text = false;
    let mut styled_title = None;
    let mut page_breaks = 0u32;

    loop {
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(&xml, BODY, e))?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let is_start = matches!(event, Event::Start(_));
                match e.local_name().as_ref() {
                    "p" if is_start => {
                        w.block(1);
                        paragraphs.push((w.len(), None));
                    }
                    // An empty paragraph, as authors use for spacing: keep one blank line.
                    "p" => w.block(2),
                    "pStyle" => {
                        if let (Some(top), Some(style)) = (paragraphs.last_mut(), attr(e, "val")) {
                            top.1 = Some(style);
                        }
                    }
                    "tr" if is_start => rows.push(0),
                    "tc" if is_start => {
                        if let Some(cells) = rows.last_mut() {
                            if *cells > 0 {
                                w.cell();
                            } else {
                                w.first_cell();
                            }
                            *cells += 1;
                        }
                    }
                    "r" if is_start => run_depth += 1,
                    "t" if is_start => in_text = true,
                    // Outside a run, <w:tab> is a tab-stop definition in paragraph properties.
                    "tab" | "ptab" if run_depth > 0 => w.verbatim("\t"),
                    "br" | "cr" if run_depth > 0 => {
                        if attr(e, "type").as_deref() == Some("page") {
                            page_breaks = page_breaks.saturating_add(1);
                        }
                        w.newline();
                    }
                    "noBreakHyphen" if run_depth > 0 => w.verbatim("-"),
                    _ => {}
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "p" => {
                    if let Some((start, style)) = paragraphs.pop() {
                        let text = w.since(start).trim();
                        if text.is_empty() {
                            w.block(2);
                        } else if styled_title.is_none()
                            && style.as_deref().is_some_and(is_title_style)
                        {
                            styled_title = Some(text.to_owned());
                        }
                    }
                    w.block(1);
                }
                "tr" => {
                    rows.pop();
                    w.end_row();
                }
                "r" => run_depth = run_depth.saturating_sub(1),
                "t" => in_text = false,
                _ => {}
            },
            Event::Text(t) if in_text => w.verbatim(&t.xml10_content()),
            Event::CData(t) if in_text => w.verbatim(&t.xml10_content()),
            Event::GeneralRef(r) if in_text => {
                if let Some(resolved) = resolve_reference(r) {
                    w.verbatim(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    finish_part(&xml, budget);
    Ok(Body {
        text: w.finish()?,
        styled_title,
        page_breaks,
    })
}

fn is_title_style(style: &str) -> bool {
    let style = style.to_ascii_lowercase();
    style.starts_with("title") || style.starts_with("heading")
}

#[derive(Default)]
struct Properties {
    title: Option<String>,
    author: Option<String>,
    pages: Option<u32>,
}

/// Title, author and page count from the document properties. They are optional parts, so a
/// damaged one is ignored; only a zip bomb hiding in them is still an error.
fn read_properties(
    archive: &mut Archive<'_>,
    budget: &mut u64,
) -> Result<Properties, ExtractError> {
    let mut props = Properties::default();
    let core = simple_fields(archive, "docProps/core.xml", &["title", "creator"], budget);
    let app = simple_fields(archive, "docProps/app.xml", &["Pages"], budget);
    for result in [core, app] {
        match result {
            Ok(fields) => {
                for (name, value) in fields {
                    match name {
                        "title" => props.title = Some(value),
                        "creator" => props.author = Some(value),
                        "Pages" => props.pages = value.parse().ok().filter(|&p| p > 0),
                        _ => {}
                    }
                }
            }
            Err(e @ ExtractError::TooLarge(_)) => return Err(e),
            Err(_) => {}
        }
    }
    Ok(props)
}

/// The whitespace-collapsed, non-empty text of the first element with each wanted local name.
fn simple_fields(
    archive: &mut Archive<'_>,
    part: &str,
    wanted: &[&'static str],
    budget: &mut u64,
) -> Result<Vec<(&'static str, String)>, ExtractError> {
    let Some(mut xml) = open_part(archive, part, budget)? else {
        return Ok(Vec::new());
    };
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let mut current: Option<(&'static str, String)> = None;
    let mut buf = Vec::new();
    loop {
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(&xml, part, e))?;
        match event {
            Event::Start(e) => {
                let local = e.local_name();
                current = wanted
                    .iter()
                    .find(|w| **w == local.as_ref() && !found.iter().any(|(f, _)| f == *w))
                    .map(|w| (*w, String::new()));
            }
            Event::Text(t) => {
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let (Some((_, value)), Some(resolved)) =
                    (current.as_mut(), resolve_reference(&r))
                {
                    value.push_str(&resolved);
                }
            }
            Event::End(_) => {
                if let Some((name, value)) = current.take() {
                    let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
                    if !value.is_empty() {
                        found.push((name, value));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    finish_part(&xml, budget);
    Ok(found)
}

fn resolve_reference(r: &BytesRef) -> Option<String> {
    match r.resolve_char_ref() {
        Ok(Some(ch)) => Some(ch.to_string()),
        Ok(None) => resolve_predefined_entity(r).map(str::to_owned),
        Err(_) => None,
    }
}

fn attr(e: &BytesStart, local: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

type PartReader<'a, 'b> = Reader<BufReader<Guarded<zip::read::ZipFile<'a, Cursor<&'b [u8]>>>>>;

/// Opens one part for streaming, refusing it up front if its declared size already exceeds
/// what is left of the budget. The declared size is attacker-controlled, so [`Guarded`] counts
/// the real bytes as well.
fn open_part<'a, 'b>(
    archive: &'a mut Archive<'b>,
    part: &str,
    budget: &mut u64,
) -> Result<Option<PartReader<'a, 'b>>, ExtractError> {
    let file = match archive.by_name(part) {
        Ok(file) => file,
        Err(ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(corrupt(format_args!("cannot read {part}: {e}"))),
    };
    if file.size() > *budget {
        return Err(ExtractError::TooLarge(format!(
            "DOCX part {part} declares {} bytes uncompressed, more than the remaining limit of {} \
             bytes; this looks like a zip bomb",
            file.size(),
            *budget
        )));
    }
    let guarded = Guarded {
        inner: file,
        remaining: *budget,
        consumed: 0,
        markup_free_run: 0,
        tripped: None,
    };
    let mut reader = Reader::from_reader(BufReader::new(guarded));
    // Word never writes mismatched tags; tolerating them costs nothing and salvages text from
    // files other tools damaged.
    reader.config_mut().check_end_names = false;
    Ok(Some(reader))
}

fn finish_part(xml: &PartReader<'_, '_>, budget: &mut u64) {
    *budget = budget.saturating_sub(xml.get_ref().get_ref().consumed);
}

fn xml_error(xml: &PartReader<'_, '_>, part: &str, e: quick_xml::Error) -> ExtractError {
    if let Some(limit) = xml.get_ref().get_ref().tripped {
        return limit.error(part);
    }
    corrupt(format_args!(
        "{part} at byte {}: {e}",
        xml.buffer_position()
    ))
}

#[derive(Clone, Copy)]
enum Tripped {
    Budget(u64),
    MarkupFreeRun,
}

impl Tripped {
    fn error(self, part: &str) -> ExtractError {
        ExtractError::TooLarge(match self {
            Tripped::Budget(limit) => format!(
                "DOCX part {part} expands to more than the limit of {limit} bytes; this looks like \
                 a zip bomb"
            ),
            Tripped::MarkupFreeRun => format!(
                "DOCX part {part} holds more than {MAX_MARKUP_FREE_RUN} bytes without any markup; \
                 this looks like a zip bomb"
            ),
        })
    }
}

/// Counts decompressed bytes as they are read and fails the read once a limit is passed, so a
/// bomb is stopped after at most one buffer beyond the limit instead of after inflating.
struct Guarded<R> {
    inner: R,
    remaining: u64,
    consumed: u64,
    markup_free_run: u64,
    tripped: Option<Tripped>,
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tripped.is_some() {
            return Err(io::Error::other("size limit reached"));
        }
        let n = self.inner.read(buf)?;
        let chunk = buf.get(..n).unwrap_or_default();
        self.consumed = self.consumed.saturating_add(n as u64);
        self.markup_free_run = match chunk.iter().rposition(|&b| b == b'<') {
            Some(at) => (n - at - 1) as u64,
            None => self.markup_free_run.saturating_add(n as u64),
        };
        if self.consumed > self.remaining {
            self.tripped = Some(Tripped::Budget(self.remaining));
        } else if self.markup_free_run > MAX_MARKUP_FREE_RUN {
            self.tripped = Some(Tripped::MarkupFreeRun);
        }
        match self.tripped {
            Some(_) => Err(io::Error::other("size limit reached")),
            None => Ok(n),
        }
    }
}

fn corrupt(detail: impl Display) -> ExtractError {
    ExtractError::Corrupt(format!("corrupt DOCX: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded<R: Read>(inner: R, remaining: u64) -> Guarded<R> {
        Guarded {
            inner,
            remaining,
            consumed: 0,
            markup_free_run: 0,
            tripped: None,
        }
    }

    #[test]
    fn counts_real_bytes_whatever_the_archive_declares() {
        let mut reader = guarded(io::repeat(b'<').take(10_000), 4_096);
        let mut sink = Vec::new();
        assert!(reader.read_to_end(&mut sink).is_err());
        assert!(matches!(reader.tripped, Some(Tripped::Budget(4_096))));
        assert!(
            sink.len() <= 4_096 + 8 * 1024,
            "stopped within a buffer of the limit"
        );
    }

    #[test]
    fn stops_long_stretches_without_markup() {
        let mut reader = guarded(io::repeat(b'a').take(MAX_MARKUP_FREE_RUN + 1), u64::MAX);
        assert!(io::copy(&mut reader, &mut io::sink()).is_err());
        assert!(matches!(reader.tripped, Some(Tripped::MarkupFreeRun)));
        let message = reader
            .tripped
            .map(|t| t.error(BODY).to_string())
            .unwrap_or_default();
        assert!(message.ends_with("this looks like a zip bomb"), "{message}");
    }

    #[test]
    fn ordinary_parts_pass() {
        let xml = b"<w:p><w:r><w:t>hello</w:t></w:r></w:p>".repeat(1000);
        let mut reader = guarded(&xml[..], xml.len() as u64);
        let mut sink = Vec::new();
        assert!(reader.read_to_end(&mut sink).is_ok());
        assert_eq!(sink.len(), xml.len());
    }
}
