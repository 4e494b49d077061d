//! One-off classification (`POST /v1/classify`): a text, or the text extracted from one small
//! file while the client waits, classified with the caller's rules and model.

use std::time::Duration;

use docket_core::ErrorCode;
use docket_extract::pool::{Request, Source};
use docket_pipeline::{Classifiers, ExtractorPool};

use crate::ServiceError;

/// Largest file classified while the client waits.
pub const CLASSIFY_LIMIT: usize = 10 * 1024 * 1024;
/// Longest spent reading such a file.
const CLASSIFY_TIME: Duration = Duration::from_secs(60);

/// What decided a text's category.
pub struct Decision {
    pub category: String,
    pub confidence: f32,
    pub matched_by: String,
}

#[derive(Clone)]
pub struct Classification {
    classifiers: Classifiers,
    extractor: ExtractorPool,
}

impl Classification {
    pub fn new(classifiers: Classifiers, extractor: ExtractorPool) -> Classification {
        Classification {
            classifiers,
            extractor,
        }
    }

    /// The text of one file (at most [`CLASSIFY_LIMIT`] bytes), extracted in the pool.
    pub async fn text_of(&self, name: String, bytes: Vec<u8>) -> Result<String, ServiceError> {
        if bytes.len() > CLASSIFY_LIMIT {
            return Err(too_large());
        }
        let request = Request {
            source: Source::Bytes(bytes),
            name,
            options: docket_extract::Options::default(),
        };
        // The client is waiting: a parser that takes longer is stopped (dropping the call kills
        // its extractor process) and the answer says why.
        let extraction =
            tokio::time::timeout(CLASSIFY_TIME, self.extractor.extract(request, |_| {}))
                .await
                .map_err(|_| {
                    ServiceError::refused(
                        ErrorCode::UnreadableFile,
                        format!(
                            "reading the file took longer than {} s; submit it as a job",
                            CLASSIFY_TIME.as_secs()
                        ),
                    )
                })?
                .map_err(|e| ServiceError::refused(ErrorCode::UnreadableFile, e.to_string()))?;
        Ok(extraction.extracted.text)
    }

    /// The category `user`'s rules and model give `text`; `None` if nothing matched.
    pub async fn classify(
        &self,
        user: &str,
        text: String,
    ) -> Result<Option<Decision>, ServiceError> {
        let (decided, _) = self.classifiers.classify(user, text).await?;
        Ok(decided.map(|c| Decision {
            category: c.category,
            confidence: c.confidence,
            matched_by: c.matched_by,
        }))
    }
}

/// The refusal of a file over [`CLASSIFY_LIMIT`].
pub fn too_large() -> ServiceError {
    ServiceError::refused(
        ErrorCode::PayloadTooLarge,
        "POST /v1/classify takes files up to 10 MiB; submit larger ones as a job",
    )
}
