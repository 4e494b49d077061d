//! `deleter`: removes jobs marked deleted (by their owner or by retention) for good — their
//! files, then their rows — through the process's [`JobCleanup`](crate::JobCleanup). A removal
//! that fails stays marked and is retried later, so nothing is leaked.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_service::{Pace, Periodic, ServiceError, StopAt};

use super::Duties;

pub struct Deleter(pub(crate) Arc<Duties>);

#[async_trait]
impl Periodic for Deleter {
    fn name(&self) -> &'static str {
        "deleter"
    }

    fn interval(&self) -> Duration {
        self.0.config.rescue_every
    }

    fn stop_at(&self) -> StopAt {
        StopAt::Drained
    }

    async fn tick(&self) -> Result<Pace, ServiceError> {
        let Some(cleanup) = &self.0.cleanup else {
            return Ok(Pace::Idle);
        };
        let removed = cleanup.sweep().await;
        if removed > 0 {
            tracing::info!(jobs = removed, "removed deleted jobs and their files");
        }
        Ok(Pace::Idle)
    }
}
