//! `held_releaser`: makes jobs whose `not_before` has come claimable.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_core::now_millis;
use docket_service::{Pace, Periodic, ServiceError, StopAt};

use super::Duties;

pub struct HeldReleaser(pub(crate) Arc<Duties>);

#[async_trait]
impl Periodic for HeldReleaser {
    fn name(&self) -> &'static str {
        "held_releaser"
    }

    /// As often as an idle engine looks for work: a held job starts about as soon as a new one.
    fn interval(&self) -> Duration {
        self.0.config.idle_poll
    }

    fn stop_at(&self) -> StopAt {
        StopAt::Drained
    }

    async fn tick(&self) -> Result<Pace, ServiceError> {
        let n = self
            .0
            .store
            .release_held(now_millis())
            .await
            .map_err(|e| ServiceError::of("releasing jobs whose not_before has come", e))?;
        if n > 0 {
            tracing::info!(jobs = n, "held jobs released");
            self.0.wake.notify_one();
        }
        Ok(Pace::Idle)
    }
}
