//! `deadline_watcher`: fails jobs whose deadline has passed.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_core::now_millis;
use docket_service::{Pace, Periodic, ServiceError, StopAt};

use super::Duties;

pub struct DeadlineWatcher(pub(crate) Arc<Duties>);

#[async_trait]
impl Periodic for DeadlineWatcher {
    fn name(&self) -> &'static str {
        "deadline_watcher"
    }

    /// As often as the rescuer: both used to share one loop.
    fn interval(&self) -> Duration {
        self.0.config.rescue_every
    }

    fn stop_at(&self) -> StopAt {
        StopAt::Drained
    }

    async fn tick(&self) -> Result<Pace, ServiceError> {
        let n = self
            .0
            .store
            .expire_deadlines(now_millis())
            .await
            .map_err(|e| ServiceError::of("failing jobs past their deadline", e))?;
        if n > 0 {
            tracing::info!(jobs = n, "jobs failed at their deadline");
        }
        Ok(Pace::Idle)
    }
}
