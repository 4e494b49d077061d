//! `retention_cleaner`: marks finished jobs older than the retention deleted; the `deleter`
//! then removes them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_core::now_millis;
use docket_service::{Pace, Periodic, ServiceError, StopAt};

use super::Duties;

pub struct RetentionCleaner(pub(crate) Arc<Duties>);

#[async_trait]
impl Periodic for RetentionCleaner {
    fn name(&self) -> &'static str {
        "retention_cleaner"
    }

    fn interval(&self) -> Duration {
        self.0.config.retention_every
    }

    fn stop_at(&self) -> StopAt {
        StopAt::Drained
    }

    async fn tick(&self) -> Result<Pace, ServiceError> {
        let d = &self.0;
        let Some(retention) = d.config.retention else {
            return Ok(Pace::Idle);
        };
        let now = now_millis();
        // Retention deletes the way a user does: it marks the jobs, and the `deleter` removes
        // their files and rows durably.
        let n = d
            .store
            .mark_expired(now - retention.as_millis() as i64, now)
            .await
            .map_err(|e| ServiceError::of("marking finished jobs past retention deleted", e))?;
        if n > 0 {
            tracing::info!(jobs = n, "marked finished jobs past retention deleted");
        }
        Ok(Pace::Idle)
    }
}
