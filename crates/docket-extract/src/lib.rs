//! Turns the bytes of one document into text.
//!
//! [`sniff`] decides what a file is from its content; [`extract`] dispatches on that to one
//! extractor per format. A new format (PDF, OCR for images) is a new module plus one arm in
//! [`extract`]: the API does not change.

mod docx;
mod error;
mod html;
mod html_guard;
mod markdown;
pub mod media;
mod sniff;
mod text;
mod writer;

use std::io::Cursor;

use serde::{Deserialize, Serialize};

pub use error::ExtractError;
pub use sniff::sniff;

/// The text of one document and what was learned about it on the way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    /// As returned by [`sniff`]; one of the constants in [`media`].
    pub media_type: String,
    /// Plain text with `\n` line ends. Structured formats put each block on its own line:
    /// a blank line between HTML and Markdown paragraphs, one line per DOCX paragraph (as
    /// Word stores them), tabs between table cells.
    pub text: String,
    /// 1 for formats without pages.
    pub pages: u32,
    /// A JSON object; keys appear only when known: `title`, `author`, `encoding` (the
    /// WHATWG name of the character encoding the text was decoded from).
    pub metadata: serde_json::Value,
}

/// Ceilings that keep one hostile or absurd document from exhausting the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Bytes an archive-based document (DOCX) may inflate to, over all the parts read.
    pub max_decompressed_bytes: u64,
    /// Characters of extracted text. Longer text fails the document rather than being cut,
    /// since a silently truncated document would be lost data.
    pub max_text_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 256 * 1024 * 1024,
            max_text_chars: 32 * 1024 * 1024,
        }
    }
}

/// Extracts the text of one document. `name` is the file name as uploaded; see [`sniff`] for
/// how little it is trusted.
pub fn extract(bytes: &[u8], name: &str, limits: &Limits) -> Result<Extracted, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    let mut extracted = match sniff::detect(bytes, name) {
        media::TEXT => text::extract(bytes, limits),
        media::MARKDOWN => markdown::extract(bytes, limits),
        media::HTML => html::extract(bytes, limits),
        media::DOCX => docx::extract(bytes, limits),
        media::ZIP => match zip::ZipArchive::new(Cursor::new(bytes)) {
            Err(e) => Err(ExtractError::Corrupt(format!("corrupt ZIP archive: {e}"))),
            Ok(_) => Err(ExtractError::unsupported(media::ZIP)),
        },
        // PDF and the image types are recognised but not extracted yet; they will get arms
        // of their own here.
        other => Err(ExtractError::unsupported(other)),
    }?;
    tidy_labels(&mut extracted.metadata);
    Ok(extracted)
}

/// Longest title or author kept. They are shown in lists and search results; a document
/// whose "title" runs to pages is malformed, and its full text is in `text` anyway.
const MAX_LABEL_CHARS: usize = 500;

/// Titles and authors come from wherever each format keeps them, with whatever whitespace the
/// author left: make them one tidy line, or drop them when nothing is left.
fn tidy_labels(metadata: &mut serde_json::Value) {
    let Some(fields) = metadata.as_object_mut() else {
        return;
    };
    for key in ["title", "author"] {
        let Some(serde_json::Value::String(raw)) = fields.get(key) else {
            continue;
        };
        let mut label = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some((cut, _)) = label.char_indices().nth(MAX_LABEL_CHARS) {
            label.truncate(cut);
            label.push('…');
        }
        if label.is_empty() {
            fields.remove(key);
        } else {
            fields.insert(key.to_owned(), label.into());
        }
    }
}
