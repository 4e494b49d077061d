use thiserror::Error;

/// Why a document yielded no text. Every message is written to be shown to the person who
/// submitted the file, so each one names the problem in their terms.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
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
}

impl ExtractError {
    pub(crate) fn unsupported(media_type: &str) -> Self {
        Self::Unsupported {
            media_type: media_type.to_owned(),
        }
    }
}
