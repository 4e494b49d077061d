use encoding_rs::Encoding;
use scraper::{Html, Node};
use serde_json::json;

use crate::{html_guard, media, text, writer::TextWriter, ExtractError, Extracted, Limits};

/// Elements whose content is never readable text. `<head>` goes too; its `<title>` is read
/// separately into the metadata.
const SKIPPED: &[&str] = &[
    "head", "script", "style", "noscript", "template", "iframe", "object", "embed",
];

/// Elements that end a paragraph: a blank line around them.
const PARAGRAPHS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "blockquote",
    "table",
    "ul",
    "ol",
    "dl",
    "figure",
    "hr",
    "address",
    "details",
];

/// Elements that end a line.
const LINES: &[&str] = &[
    "div",
    "li",
    "tr",
    "dt",
    "dd",
    "section",
    "article",
    "aside",
    "header",
    "footer",
    "main",
    "nav",
    "form",
    "fieldset",
    "legend",
    "figcaption",
    "caption",
    "summary",
    "option",
    "center",
    "hgroup",
    "dialog",
    "body",
    "html",
];

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let decoded = text::decode(bytes, declared_charset(bytes));
    html_guard::check(&decoded.text)?;
    let document = Html::parse_document(&decoded.text);
    let mut writer = TextWriter::new(limits.max_text_chars);
    write_tree(&document, &mut writer);
    let text = writer.finish()?;

    let mut metadata = json!({ "encoding": decoded.encoding.name() });
    if let Some(title) = title(&document) {
        metadata["title"] = title.into();
    }
    Ok(Extracted {
        media_type: media::HTML.to_owned(),
        text,
        pages: 1,
        metadata,
    })
}

/// Readable text of an HTML snippet embedded in another format (raw HTML in Markdown).
pub(crate) fn write_fragment(html: &str, writer: &mut TextWriter) -> Result<(), ExtractError> {
    html_guard::check(html)?;
    write_tree(&Html::parse_fragment(html), writer);
    Ok(())
}

/// Walks the tree with an explicit cursor instead of recursion: malformed input can nest
/// elements tens of thousands deep, which would overflow the stack.
fn write_tree(document: &Html, w: &mut TextWriter) {
    let root = document.tree.root();
    let mut pre_depth = 0usize;
    let mut next = root.first_child();
    while let Some(node) = next {
        let mut descend = false;
        match node.value() {
            Node::Text(t) if pre_depth > 0 => w.verbatim(t),
            Node::Text(t) => w.text(t),
            Node::Element(el) if !SKIPPED.contains(&el.name()) => {
                let name = el.name();
                descend = true;
                match name {
                    "br" => w.newline(),
                    "pre" => pre_depth += 1,
                    "td" | "th" => {
                        let after_cell = node.prev_siblings().any(|s| {
                            matches!(s.value(), Node::Element(e) if matches!(e.name(), "td" | "th"))
                        });
                        if after_cell {
                            w.cell();
                        } else {
                            w.first_cell();
                        }
                    }
                    _ => {}
                }
                open_or_close_block(name, w);
            }
            _ => {}
        }

        if descend {
            if let Some(child) = node.first_child() {
                next = Some(child);
                continue;
            }
        }
        // Leaving `node` (and then each ancestor that has no further siblings).
        let mut current = node;
        next = None;
        loop {
            if let Node::Element(el) = current.value() {
                if !SKIPPED.contains(&el.name()) {
                    if el.name() == "pre" {
                        pre_depth = pre_depth.saturating_sub(1);
                    }
                    match el.name() {
                        "tr" => w.end_row(),
                        name => open_or_close_block(name, w),
                    }
                }
            }
            if let Some(sibling) = current.next_sibling() {
                next = Some(sibling);
                break;
            }
            match current.parent() {
                Some(parent) if parent.id() != root.id() => current = parent,
                _ => break,
            }
        }
    }
}

fn open_or_close_block(name: &str, w: &mut TextWriter) {
    if PARAGRAPHS.contains(&name) {
        w.block(2);
    } else if LINES.contains(&name) {
        w.block(1);
    }
}

fn title(document: &Html) -> Option<String> {
    let node = document.tree.nodes().find(|n| {
        matches!(n.value(), Node::Element(el) if el.name() == "title" && &*el.name.ns == "http://www.w3.org/1999/xhtml")
    })?;
    let mut raw = String::new();
    for child in node.children() {
        if let Node::Text(t) = child.value() {
            raw.push_str(t);
        }
    }
    let title = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then_some(title)
}

/// A cheap version of the HTML encoding prescan: the charset named by a `<meta>` near the top.
/// Only consulted when the bytes are not valid UTF-8 (see [`text::decode`]).
fn declared_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = bytes.get(..1024).unwrap_or(bytes).to_ascii_lowercase();
    let at = head.windows(7).position(|w| w == b"charset")?;
    let rest = head.get(at + 7..)?;
    // `charset` only counts as an attribute or parameter: `\s*=\s*` must follow.
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let label: Vec<u8> = rest
        .iter()
        .copied()
        .skip_while(|b| matches!(b, b'"' | b'\''))
        .take_while(|b| !matches!(b, b'"' | b'\'' | b';' | b'>' | b'/') && !b.is_ascii_whitespace())
        .collect();
    Encoding::for_label(&label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(html: &str) -> String {
        let limits = Limits::default();
        extract(html.as_bytes(), &limits)
            .map(|e| e.text)
            .unwrap_or_default()
    }

    #[test]
    fn blocks_become_lines_and_inline_stays_inline() {
        let t =
            text_of("<p>One <b>two</b>\n three</p><div>four</div>five<br>six<ul><li>a<li>b</ul>");
        assert_eq!(t, "One two three\n\nfour\nfive\nsix\n\na\nb");
    }

    #[test]
    fn table_cells_are_tab_separated() {
        let t = text_of(
            "<table><tr><th>a</th> <th>b</th></tr><tr><td><p>1</p></td><td></td><td>3</td></tr></table>",
        );
        assert_eq!(t, "a\tb\n1\t\t3");
    }

    #[test]
    fn pre_keeps_its_layout() {
        assert_eq!(text_of("<pre>  a\n    b</pre>"), "  a\n    b");
    }

    #[test]
    fn meta_charset_is_read() {
        let html = b"<html><head><meta charset=\"windows-1252\"><title>caf\xE9</title></head><body>na\xEFve</body></html>";
        let e = extract(html, &Limits::default()).ok();
        let e = e.as_ref();
        assert_eq!(e.map(|e| e.text.as_str()), Some("naïve"));
        assert_eq!(e.map(|e| e.metadata["title"].clone()), Some("café".into()));
        assert_eq!(
            e.map(|e| e.metadata["encoding"].clone()),
            Some("windows-1252".into())
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        // As deep as the nesting guard lets through.
        let html = "<div>".repeat(9_000) + "deep";
        assert_eq!(text_of(&html), "deep");
    }
}
