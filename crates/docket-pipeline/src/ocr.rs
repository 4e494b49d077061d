//! Who reads the pages that need OCR: tesseract in the extractor children (the default), or a
//! remote provider (`google_vision`) to which the children hand rendered pages. A remote that
//! is down pauses the job (`remote_unavailable`) instead of failing its items.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use docket_breaker::Breakers;
use docket_core::OcrProvider;
use docket_engine::{HandlerError, ItemContext};
use docket_extract::PageImage;
use docket_remote::RemoteError;

use crate::vision::{GoogleVision, PageRead};

/// Pages this process sent to a remote OCR provider, since it started.
static GOOGLE_VISION_PAGES: AtomicU64 = AtomicU64::new(0);

/// Pages this process had read by `provider` since it started, for `/metrics`: tesseract's
/// are counted where the extractor children start each page.
pub fn ocr_pages_sent(provider: OcrProvider) -> u64 {
    match provider {
        OcrProvider::Tesseract => docket_extract::pool::ocr_pages_total(),
        OcrProvider::GoogleVision => GOOGLE_VISION_PAGES.load(Ordering::Relaxed),
    }
}

/// The remote OCR providers this process has configured, and the breakers they report to.
#[derive(Clone, Default)]
pub struct OcrProviders {
    pub google_vision: Option<Arc<GoogleVision>>,
    pub breakers: Option<Breakers>,
}

impl OcrProviders {
    /// The reader of a job's pages, `None` for tesseract (which runs in the children).
    pub(crate) fn reader(
        &self,
        provider: OcrProvider,
        languages: &[String],
    ) -> Result<Option<RemoteReader>, HandlerError> {
        match provider {
            OcrProvider::Tesseract => Ok(None),
            OcrProvider::GoogleVision => {
                let vision = self.google_vision.clone().ok_or_else(|| {
                    HandlerError::Permanent(
                        "the OCR provider google_vision is not configured on this worker".into(),
                    )
                })?;
                Ok(Some(RemoteReader {
                    vision,
                    languages: languages.to_vec(),
                    breakers: self.breakers.clone(),
                }))
            }
        }
    }
}

/// Reads pages with a remote provider for one item.
pub(crate) struct RemoteReader {
    vision: Arc<GoogleVision>,
    languages: Vec<String>,
    breakers: Option<Breakers>,
}

impl RemoteReader {
    /// Pages per request.
    pub fn batch(&self) -> u32 {
        self.vision.batch()
    }

    /// Reads `images`: one [`PageRead`] each, in order. A remote that is down pauses the
    /// item's job and hands the item back (`Interrupted`: no attempt spent).
    pub async fn read(
        &self,
        ctx: &ItemContext,
        images: &[PageImage],
    ) -> Result<Vec<PageRead>, HandlerError> {
        match self.vision.read(images, &self.languages).await {
            Ok(reads) => {
                GOOGLE_VISION_PAGES.fetch_add(images.len() as u64, Ordering::Relaxed);
                Ok(reads)
            }
            Err(e) if e.is_down() => Err(self.outage(ctx, &e).await),
            Err(e) if e.is_transient() => Err(HandlerError::Transient(e.to_string())),
            Err(e) => Err(HandlerError::Permanent(e.to_string())),
        }
    }

    async fn outage(&self, ctx: &ItemContext, error: &RemoteError) -> HandlerError {
        let Some(breakers) = &self.breakers else {
            return HandlerError::Transient(error.to_string());
        };
        match breakers.pause_job(&ctx.item().job_id, &error.remote).await {
            Ok(true) => {
                tracing::info!(job = %ctx.item().job_id, remote = %error.remote,
                    "pausing the job until the remote answers again");
                HandlerError::Interrupted
            }
            // Back already (another process saw it answer): an ordinary retry.
            Ok(false) => HandlerError::Transient(error.to_string()),
            Err(e) => HandlerError::Transient(format!("{error} (and pausing the job failed: {e})")),
        }
    }
}
