//! `upload_cleaner`: removes resumable uploads that expired unused or were terminated, and
//! those whose job is gone: their bytes first, then their rows, so a failure leaves the row
//! and the next round tries again (no file is ever left without a row that leads to it).

use std::time::Duration;

use async_trait::async_trait;
use docket_service::{Pace, Periodic, ServiceError as RoundError};

use crate::Resumable;

/// Uploads removed per round.
const BATCH: u32 = 100;

pub struct UploadCleaner {
    pub uploads: Resumable,
}

#[async_trait]
impl Periodic for UploadCleaner {
    fn name(&self) -> &'static str {
        "upload_cleaner"
    }

    /// A quarter of the expiry (an upload outlives its expiry by at most that), between one
    /// second and a minute.
    fn interval(&self) -> Duration {
        (self.uploads.config().expiry / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }

    async fn tick(&self) -> Result<Pace, RoundError> {
        let n = self
            .uploads
            .remove_removable(BATCH)
            .await
            .map_err(|e| RoundError::of("removing expired uploads", e))?;
        if n > 0 {
            tracing::info!(
                uploads = n,
                "removed expired, terminated or submitted uploads"
            );
        }
        Ok(if n == BATCH as usize {
            Pace::Busy
        } else {
            Pace::Idle
        })
    }
}
