use std::io::Cursor;

use encoding_rs::Encoding;

use crate::media;

/// How much of the start of a file the text/binary decision looks at.
const SAMPLE_BYTES: usize = 8 * 1024;

/// Above this share of control characters a "text" file is really binary. Random bytes score
/// about 11%; real text scores 0 apart from the odd form feed or stray escape.
const MAX_CONTROL_PERCENT: usize = 2;

/// The media type of a document, judged from its content. The name is never trusted over the
/// content: it only chooses between text flavours the content cannot tell apart (Markdown is
/// just text), and between "DOCX" and "ZIP" for an archive too damaged to list. Returns one of
/// the constants in [`crate::media`]; unrecognised or empty input is
/// [`media::OCTET_STREAM`](crate::media::OCTET_STREAM).
pub fn sniff(bytes: &[u8], name: &str) -> String {
    detect(bytes, name).to_owned()
}

pub(crate) fn detect(bytes: &[u8], name: &str) -> &'static str {
    if let Some(media_type) = magic(bytes) {
        return media_type;
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return zip_flavour(bytes, name);
    }
    match text_sample(bytes) {
        Some(sample) => text_flavour(&sample, name),
        None => media::OCTET_STREAM,
    }
}

fn magic(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"%PDF-", media::PDF),
        (b"\x89PNG\r\n\x1a\n", media::PNG),
        (b"\xFF\xD8\xFF", media::JPEG),
        (b"GIF87a", media::GIF),
        (b"GIF89a", media::GIF),
        (b"II*\x00", media::TIFF),
        (b"MM\x00*", media::TIFF),
        // BigTIFF.
        (b"II+\x00", media::TIFF),
        (b"MM\x00+", media::TIFF),
    ];
    if let Some((_, media_type)) = SIGNATURES.iter().find(|(sig, _)| bytes.starts_with(sig)) {
        return Some(media_type);
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Some(media::WEBP);
    }
    None
}

fn zip_flavour(bytes: &[u8], name: &str) -> &'static str {
    match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => {
            let has = |part: &str| archive.index_for_name(part).is_some();
            if has("word/document.xml") {
                media::DOCX
            } else if has("xl/workbook.xml") {
                media::XLSX
            } else if has("ppt/presentation.xml") {
                media::PPTX
            } else {
                media::ZIP
            }
        }
        // The central directory sits at the end, so a truncated upload cannot be listed. Entry
        // names are also stored uncompressed in each local header, which still identifies a
        // DOCX; failing that, the name is the best evidence left.
        Err(_) if contains(bytes, b"word/document.xml") || extension(name) == "docx" => media::DOCX,
        Err(_) => media::ZIP,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The decoded start of the file, or `None` if it looks binary.
fn text_sample(bytes: &[u8]) -> Option<String> {
    let truncated = bytes.len() > SAMPLE_BYTES;
    let sample = bytes.get(..SAMPLE_BYTES).unwrap_or(bytes);

    if let Some((encoding, bom_len)) = Encoding::for_bom(sample) {
        let body = sample.get(bom_len..).unwrap_or_default();
        let (text, _) = encoding.decode_without_bom_handling(body);
        let text = text.into_owned();
        // The sample may end mid-character; one replacement char at the cut is not evidence.
        let checked = if truncated {
            text.strip_suffix('\u{FFFD}').unwrap_or(&text)
        } else {
            &text
        };
        return mostly_printable(checked).then_some(text);
    }

    // Without a BOM, NUL means binary (or BOM-less UTF-16, which we do not guess at).
    if sample.contains(&0) {
        return None;
    }
    match std::str::from_utf8(sample) {
        Ok(text) => mostly_printable(text).then(|| text.to_owned()),
        Err(e) if truncated && e.error_len().is_none() => {
            let valid = sample.get(..e.valid_up_to()).unwrap_or_default();
            let text = String::from_utf8_lossy(valid).into_owned();
            mostly_printable(&text).then_some(text)
        }
        // Some legacy 8-bit or multi-byte encoding. Only C0 controls say "binary" here: high
        // bytes are letters in windows-1252 and lead/trail bytes in Shift_JIS or GBK alike.
        Err(_) => {
            let controls = sample.iter().filter(|&&b| is_binary_byte(b)).count();
            (controls * 100 <= sample.len() * MAX_CONTROL_PERCENT)
                .then(|| String::from_utf8_lossy(sample).into_owned())
        }
    }
}

fn is_binary_byte(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B)) || b == 0x7F
}

fn mostly_printable(text: &str) -> bool {
    let mut total = 0usize;
    let mut bad = 0usize;
    for ch in text.chars() {
        total += 1;
        let allowed_control = matches!(ch, '\t' | '\n' | '\r' | '\u{0C}' | '\u{1B}');
        if ch == '\0' || ch == '\u{FFFD}' || (ch.is_control() && !allowed_control) {
            bad += 1;
        }
    }
    bad * 100 <= total * MAX_CONTROL_PERCENT
}

fn text_flavour(sample: &str, name: &str) -> &'static str {
    let head = markup_head(sample);
    if starts_with_tag(&head, &["!doctype html", "html", "head", "body"]) {
        return media::HTML;
    }
    match extension(name).as_str() {
        "md" | "markdown" | "mdown" | "mkd" | "mkdn" => media::MARKDOWN,
        "html" | "htm" | "xhtml" => media::HTML,
        "txt" | "text" => media::TEXT,
        // The tags WHATWG's sniffing algorithm accepts as HTML: weaker evidence than <html>,
        // so an explicit .txt or .md name above overrides them.
        _ if head.starts_with("<!--")
            || starts_with_tag(
                &head,
                &[
                    "script", "iframe", "h1", "div", "font", "table", "a", "style", "title", "b",
                    "br", "p",
                ],
            ) =>
        {
            media::HTML
        }
        _ => media::TEXT,
    }
}

/// The lower-cased start of the content past BOM, whitespace and an XML declaration (XHTML).
fn markup_head(sample: &str) -> String {
    let mut rest = sample.trim_start_matches('\u{FEFF}').trim_start();
    if rest.starts_with("<?xml") {
        if let Some(end) = rest.find("?>") {
            rest = rest.get(end + 2..).unwrap_or_default().trim_start();
        }
    }
    rest.chars().take(32).flat_map(char::to_lowercase).collect()
}

/// `<name` followed by something that ends a tag name, so `<p>` matches but `<pre>` does not.
fn starts_with_tag(head: &str, names: &[&str]) -> bool {
    let Some(rest) = head.strip_prefix('<') else {
        return false;
    };
    names.iter().any(|name| {
        rest.strip_prefix(name)
            .and_then(|after| after.chars().next())
            .is_some_and(|c| c.is_whitespace() || c == '>' || c == '/')
    })
}

pub(crate) fn extension(name: &str) -> String {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(detect(b"%PDF-1.7\n", "x.txt"), media::PDF);
        assert_eq!(detect(b"\xFF\xD8\xFF\xE0\0\x10JFIF", "x"), media::JPEG);
        assert_eq!(detect(b"II*\0\x08\0\0\0", "x"), media::TIFF);
        assert_eq!(detect(b"MM\0*\0\0\0\x08", "x"), media::TIFF);
        assert_eq!(detect(b"RIFF\x24\0\0\0WEBPVP8 ", "x"), media::WEBP);
        assert_eq!(detect(b"RIFF\x24\0\0\0WAVEfmt ", "x"), media::OCTET_STREAM);
        assert_eq!(detect(b"GIF89a\x01\0\x01\0", "x"), media::GIF);
    }

    #[test]
    fn html_signatures() {
        assert_eq!(
            detect(b"\xEF\xBB\xBF \n<!DOCTYPE HTML>", "a.txt"),
            media::HTML
        );
        assert_eq!(detect(b"<HTML lang=en>", "notes.md"), media::HTML);
        assert_eq!(detect(b"<?xml version=\"1.0\"?>\n<html>", "x"), media::HTML);
        assert_eq!(detect(b"<p>hi</p>", "x"), media::HTML);
        assert_eq!(detect(b"<p>hi</p>", "x.txt"), media::TEXT);
        assert_eq!(detect(b"<pre>hi</pre>", "x"), media::TEXT);
        assert_eq!(detect(b"<!-- note -->\n# Title", "x.md"), media::MARKDOWN);
    }

    #[test]
    fn name_only_breaks_ties_between_text_flavours() {
        assert_eq!(detect(b"# Title", "dir/README.MD"), media::MARKDOWN);
        assert_eq!(detect(b"# Title", "notes.txt"), media::TEXT);
        assert_eq!(detect(b"plain", "page.htm"), media::HTML);
        assert_eq!(
            detect(b"\0\x01\x02\x03binary", "notes.md"),
            media::OCTET_STREAM
        );
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("a/b.tar.GZ"), "gz");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("C:\\x\\y.Md"), "md");
        assert_eq!(extension(""), "");
    }
}
