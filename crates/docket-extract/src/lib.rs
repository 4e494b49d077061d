//! Turns the bytes of one document into text.
//!
//! [`sniff`] decides what a file is from its content; [`extract_with`] dispatches on that to
//! one extractor per format. PDF goes through poppler (text layer, OCR for pages without one),
//! images through tesseract.
//!
//! Poppler and tesseract are C and C++: a hostile file can crash, hang or exhaust them, and a
//! thread cannot be stopped. Production therefore extracts through [`pool::ExtractorPool`],
//! which runs [`child::serve`] in long-lived child processes it can kill and replace. The
//! in-process [`extract`] and [`extract_with`] remain for trusted input and tests.

pub mod child;
mod docx;
mod error;
mod ffi;
pub mod host;
mod html;
mod html_guard;
mod image;
mod markdown;
pub mod media;
mod ocr;
mod paged;
mod pdf;
mod pix;
pub mod pool;
mod protocol;
mod sniff;
mod text;
mod text_size;
mod thumbnail;
mod word_gaps;
mod writer;

use std::collections::BTreeMap;
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
    /// Word stores them), tabs between table cells. PDF and TIFF pages are separated by a
    /// form feed on a line of its own (`"\n\x0c\n"`, as `pdftotext` separates them), so the
    /// Nth piece of the text is the Nth page.
    pub text: String,
    /// 1 for formats without pages.
    pub pages: u32,
    /// A JSON object; keys appear only when known: `title`, `author`, `encoding` (the
    /// WHATWG name of the character encoding the text was decoded from), `ocr_pages` (how
    /// many pages' text came from OCR).
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
    /// Pages of a PDF or TIFF.
    pub max_pages: u32,
    /// Pixels of one image or TIFF page, judged from its header before decoding. PDF pages
    /// without text are rendered for OCR at 300 dpi, or coarser if that would pass this.
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 256 * 1024 * 1024,
            max_text_chars: 32 * 1024 * 1024,
            max_pages: 2000,
            // An A4 page scanned at 600 dpi is 35 megapixels.
            max_pixels: 64_000_000,
        }
    }
}

/// What to extract and how, beyond the bytes themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    pub limits: Limits,
    /// Tesseract language codes for OCR, e.g. `["eng", "deu"]`; used together.
    pub languages: Vec<String>,
    /// Render a PNG thumbnail of the first page (PDF and images only).
    pub thumbnail: bool,
    /// Texts of PDF pages OCR'd by an earlier, interrupted attempt, by 0-based page index:
    /// used as they are instead of OCR'ing those pages again.
    pub known_pages: BTreeMap<u32, String>,
    /// `Some(n)`: OCR happens elsewhere. Pages that need it are rendered here (PDF pages at
    /// 300 dpi) and handed to [`Observer::read_elsewhere`] as PNGs, at most `n` at a time;
    /// pages with a text layer never leave. `None`: tesseract, in this process.
    #[serde(default)]
    pub delegate_ocr: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            languages: vec!["eng".to_owned()],
            thumbnail: false,
            known_pages: BTreeMap::new(),
            delegate_ocr: None,
        }
    }
}

/// `page` of `pages` is done. Reported once per page by PDF and image extraction, so a caller
/// can move a progress bar through OCR, which takes seconds per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub page: u32,
    pub pages: u32,
}

/// A page that needs OCR, rendered for a provider elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageImage {
    /// 0-based page index in the document.
    pub index: u32,
    pub png: Vec<u8>,
}

/// What an extraction reports while it runs, and how its caller steers it between pages.
pub trait Observer {
    /// With [`Options::delegate_ocr`]: these pages need OCR; the answer is their texts in
    /// the same order. An error ends the extraction (the caller keeps what went wrong;
    /// [`ExtractError::Stopped`] when it only wants the extraction to stop).
    fn read_elsewhere(&mut self, _images: Vec<PageImage>) -> Result<Vec<String>, ExtractError> {
        Err(ExtractError::Ocr(
            "no OCR provider was given for this extraction".to_owned(),
        ))
    }
    /// `page` of `pages` is done.
    fn progress(&mut self, _progress: Progress) {}
    /// Page `index` (0-based) is about to go to the OCR engine.
    fn ocr_starting(&mut self, _index: u32) {}
    /// Page `index` was OCR'd into `text`. Returning `false` stops the extraction before the
    /// next page, with [`ExtractError::Stopped`].
    fn ocr_finished(&mut self, _index: u32, _text: &str) -> bool {
        true
    }
}

/// Only watches progress.
struct ProgressOnly<'a>(&'a mut dyn FnMut(Progress));

impl Observer for ProgressOnly<'_> {
    fn progress(&mut self, progress: Progress) {
        (self.0)(progress)
    }
}

/// An extracted document and, when asked for and the format has pages, its thumbnail.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    pub extracted: Extracted,
    /// PNG of the first page, at most 256 pixels on its long side.
    pub thumbnail: Option<Vec<u8>>,
}

/// The OCR languages installed on this host (sorted), found by loading the first of `probes`
/// that is installed (e.g. `eng`) and asking tesseract for its data directory's contents.
/// Loads a model, so it takes a moment: call it on a blocking thread and keep the answer.
pub fn installed_ocr_languages(probes: &[String]) -> Result<Vec<String>, ExtractError> {
    ocr::installed_languages(probes)
}

/// Extracts the text of one document in this process, OCR in English, no thumbnail. `name` is
/// the file name as uploaded; see [`sniff`] for how little it is trusted.
pub fn extract(bytes: &[u8], name: &str, limits: &Limits) -> Result<Extracted, ExtractError> {
    let options = Options {
        limits: *limits,
        ..Options::default()
    };
    extract_with(bytes, name, &options, &mut |_| {}).map(|e| e.extracted)
}

/// Extracts one document in this process, reporting each finished page to `progress`.
///
/// OCR engines are kept per thread and language set, so a thread that extracts many images
/// loads each model once. Tesseract uses OpenMP: set `OMP_THREAD_LIMIT=1` in the environment
/// before the process starts (the pool does) or each page fans out over every core.
pub fn extract_with(
    bytes: &[u8],
    name: &str,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Extraction, ExtractError> {
    extract_observed(bytes, name, options, &mut ProgressOnly(progress))
}

/// [`extract_with`], telling `observer` about each OCR'd page and letting it stop the
/// extraction between pages.
pub fn extract_observed(
    bytes: &[u8],
    name: &str,
    options: &Options,
    observer: &mut dyn Observer,
) -> Result<Extraction, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    let limits = &options.limits;
    let plain = |extracted: Result<Extracted, ExtractError>| {
        extracted.map(|extracted| Extraction {
            extracted,
            thumbnail: None,
        })
    };
    let mut extraction = match sniff::detect(bytes, name) {
        media::TEXT => plain(text::extract(bytes, limits)),
        media::MARKDOWN => plain(markdown::extract(bytes, limits)),
        media::HTML => plain(html::extract(bytes, limits)),
        media::DOCX => plain(docx::extract(bytes, limits)),
        media::ZIP => match zip::ZipArchive::new(Cursor::new(bytes)) {
            Err(e) => Err(ExtractError::Corrupt(format!("corrupt ZIP archive: {e}"))),
            Ok(_) => Err(ExtractError::unsupported(media::ZIP)),
        },
        media::PDF => pdf::extract(bytes, options, observer),
        image @ (media::PNG | media::JPEG | media::TIFF | media::WEBP) => {
            image::extract(bytes, image, options, observer)
        }
        other => Err(ExtractError::unsupported(other)),
    }?;
    tidy_labels(&mut extraction.extracted.metadata);
    Ok(extraction)
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
