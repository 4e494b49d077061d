use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde_json::json;

use crate::{html, media, text, writer::TextWriter, ExtractError, Extracted, Limits};

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let decoded = text::decode(bytes, None);
    let source = text::normalize_newlines(&decoded.text);
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;

    let mut w = TextWriter::new(limits.max_text_chars);
    let mut heading_title: Option<String> = None;
    let mut heading_start: Option<usize> = None;
    let mut front_matter: Option<String> = None;
    let mut in_front_matter = false;
    let mut code_depth = 0usize;
    // Raw HTML blocks arrive line by line; they are only parseable as a whole.
    let mut html_block: Option<String> = None;
    let mut cells_in_row = 0usize;

    for event in Parser::new_ext(&source, options) {
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_front_matter = true,
            Event::End(TagEnd::MetadataBlock(_)) => in_front_matter = false,
            Event::Text(t) if in_front_matter => {
                front_matter.get_or_insert_with(String::new).push_str(&t)
            }
            Event::Start(Tag::HtmlBlock) => html_block = Some(String::new()),
            Event::End(TagEnd::HtmlBlock) => {
                if let Some(block) = html_block.take() {
                    w.block(2);
                    html::write_fragment(&block, &mut w)?;
                    w.block(2);
                }
            }
            Event::Html(raw) => match html_block.as_mut() {
                Some(block) => block.push_str(&raw),
                None => html::write_fragment(&raw, &mut w)?,
            },
            // Other inline tags are markup around text that arrives as ordinary events.
            Event::InlineHtml(raw) if is_line_break_tag(&raw) => w.newline(),
            Event::Start(Tag::Heading { .. }) => {
                w.block(2);
                heading_start = Some(w.len());
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(start) = heading_start.take() {
                    let heading = w.since(start).trim();
                    if heading_title.is_none() && !heading.is_empty() {
                        heading_title = Some(heading.to_owned());
                    }
                }
                w.block(2);
            }
            Event::Start(Tag::CodeBlock(_)) => {
                w.block(2);
                code_depth += 1;
            }
            Event::End(TagEnd::CodeBlock) => {
                code_depth = code_depth.saturating_sub(1);
                w.block(2);
            }
            Event::Start(Tag::Item) | Event::End(TagEnd::Item) => w.block(1),
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                w.block(1);
                cells_in_row = 0;
            }
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => w.end_row(),
            Event::Start(Tag::TableCell) => {
                if cells_in_row > 0 {
                    w.cell();
                } else {
                    w.first_cell();
                }
                cells_in_row += 1;
            }
            Event::Start(
                Tag::Paragraph
                | Tag::BlockQuote(_)
                | Tag::List(_)
                | Tag::Table(_)
                | Tag::FootnoteDefinition(_)
                | Tag::DefinitionList,
            )
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::BlockQuote(_)
                | TagEnd::List(_)
                | TagEnd::Table
                | TagEnd::FootnoteDefinition
                | TagEnd::DefinitionList,
            )
            | Event::Rule => w.block(2),
            Event::Text(t) if code_depth > 0 => w.verbatim(&t),
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                w.text(&t)
            }
            Event::SoftBreak => w.space(),
            Event::HardBreak => w.newline(),
            _ => {}
        }
    }

    let text = w.finish()?;
    let mut metadata = json!({ "encoding": decoded.encoding.name() });
    if let Some(title) = front_matter
        .as_deref()
        .and_then(front_matter_title)
        .or(heading_title)
    {
        metadata["title"] = title.into();
    }
    Ok(Extracted {
        media_type: media::MARKDOWN.to_owned(),
        text,
        pages: 1,
        metadata,
    })
}

fn is_line_break_tag(raw: &str) -> bool {
    let tag: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    matches!(tag.to_ascii_lowercase().as_str(), "<br>" | "<br/>")
}

/// An explicit `title:` in YAML front matter is the author's stated title, so it beats the first
/// heading. Only the simple one-line form is read; this is not a YAML parser.
fn front_matter_title(yaml: &str) -> Option<String> {
    yaml.lines().find_map(|line| {
        let value = line.strip_prefix("title:")?.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value)
            .trim();
        (!value.is_empty()).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(md: &str) -> Extracted {
        extract(md.as_bytes(), &Limits::default()).unwrap_or_else(|e| Extracted {
            media_type: String::new(),
            text: e.to_string(),
            pages: 0,
            metadata: json!(null),
        })
    }

    #[test]
    fn strips_markup_and_keeps_paragraphs() {
        let e = run("Intro with *emphasis* and a [link](http://x).\nSame paragraph.\n\n## Second\n\n- one\n- two\n");
        assert_eq!(
            e.text,
            "Intro with emphasis and a link. Same paragraph.\n\nSecond\n\none\ntwo"
        );
        assert_eq!(e.metadata["title"], "Second");
    }

    #[test]
    fn front_matter_title_wins_and_is_not_text() {
        let e = run("---\ntitle: \"Stated\"\n---\n\n# Heading\n\nBody");
        assert_eq!(e.metadata["title"], "Stated");
        assert_eq!(e.text, "Heading\n\nBody");
    }

    #[test]
    fn raw_html_is_reduced_to_text() {
        let e = run("Top\n\n<div class=\"note\">\n<p>Inside &amp; out</p>\n</div>\n\nBottom");
        assert_eq!(e.text, "Top\n\nInside & out\n\nBottom");
    }
}
