//! `rescuer`: takes back items whose worker stopped renewing its lease (it died or lost the
//! database), so another worker, or this one, runs them again.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_core::now_millis;
use docket_service::{Pace, Periodic, ServiceError, StopAt};

use super::Duties;

pub struct Rescuer(pub(crate) Arc<Duties>);

#[async_trait]
impl Periodic for Rescuer {
    fn name(&self) -> &'static str {
        "rescuer"
    }

    fn interval(&self) -> Duration {
        self.0.config.rescue_every
    }

    fn stop_at(&self) -> StopAt {
        StopAt::Drained
    }

    async fn tick(&self) -> Result<Pace, ServiceError> {
        let d = &self.0;
        let n = d
            .store
            .rescue_expired(now_millis())
            .await
            .map_err(|e| ServiceError::of("rescuing expired leases", e))?;
        if n > 0 {
            d.metrics.takeovers.fetch_add(n, Ordering::Relaxed);
            tracing::warn!(
                items = n,
                "took back items whose worker stopped renewing its lease"
            );
            d.wake.notify_one();
        }
        Ok(Pace::Idle)
    }
}
