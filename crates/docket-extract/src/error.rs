use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a document yielded no text. Every message is written to be shown to the person who
/// submitted the file, so each one names the problem in their terms.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ExtractError {
    #[error("empty file")]
    Empty,

    #[error("unsupported file type: {media_type}")]
    Unsupported { media_type: String },

    /// The message already names the format, e.g. "corrupt DOCX: ...".
    #[error("{0}")]
    Corrupt(String),

    /// A limit from [`crate::Limits`] was hit; the message says which one.
    #[error("{0}")]
    TooLarge(String),

    /// OCR could not run: a language that is not installed or not valid, or the engine failed.
    #[error("{0}")]
    Ocr(String),

    /// The extractor process passed its time limit and was killed.
    #[error("the parser was stopped after {seconds} s")]
    Timeout { seconds: u64 },

    /// The extractor process died while working on this document, e.g. "signal 11".
    #[error("the parser crashed ({0})")]
    Crashed(String),

    /// The extractor process hit its memory limit (`extract.memory_limit_mb`, in MiB) while
    /// working on this document.
    #[error("the parser ran out of memory (limit {limit_mib} MB)")]
    OutOfMemory { limit_mib: u64 },

    /// The caller asked to stop between two OCR'd pages (see [`crate::Observer`]); the pages
    /// done so far were reported to it one by one.
    #[error("stopped between pages")]
    Stopped,

    /// No extractor process could be started or talked to. Not the document's fault: worth
    /// retrying.
    #[error("the parser is unavailable: {0}")]
    Unavailable(String),
}

impl ExtractError {
    pub(crate) fn unsupported(media_type: &str) -> Self {
        Self::Unsupported {
            media_type: media_type.to_owned(),
        }
    }

    /// True when the failure says nothing about the document, so trying again may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}
