//! `retention_cleaner`: deletes finished jobs older than the retention, and their files.

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

    /// Never interrupted (the default): the rows are gone once `purge_finished` returns, so
    /// the files must be cleaned up in the same round.
    async fn tick(&self) -> Result<Pace, ServiceError> {
        let d = &self.0;
        let Some(retention) = d.config.retention else {
            return Ok(Pace::Idle);
        };
        let ids = d
            .store
            .purge_finished(now_millis() - retention.as_millis() as i64)
            .await
            .map_err(|e| ServiceError::of("deleting finished jobs past retention", e))?;
        if !ids.is_empty() {
            tracing::info!(jobs = ids.len(), "deleted finished jobs past retention");
            if let Some(cleanup) = &d.cleanup {
                for id in &ids {
                    cleanup.job_deleted(id).await;
                }
            }
        }
        Ok(Pace::Idle)
    }
}
