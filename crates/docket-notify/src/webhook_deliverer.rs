//! `webhook_deliverer`: the service that sends due webhooks.

use std::time::Duration;

use async_trait::async_trait;
use docket_service::{Pace, Periodic, ServiceError};

use crate::{Notifier, BATCH};

pub struct WebhookDeliverer(pub Notifier);

#[async_trait]
impl Periodic for WebhookDeliverer {
    fn name(&self) -> &'static str {
        "webhook_deliverer"
    }

    fn interval(&self) -> Duration {
        self.0.config.poll
    }

    /// Shutdown need not wait for slow receivers: an interrupted attempt's hold lapses and it
    /// is made again by whichever process runs next (at least once, never lost).
    fn interruptible(&self) -> bool {
        true
    }

    async fn tick(&self) -> Result<Pace, ServiceError> {
        let sent = self
            .0
            .deliver_due()
            .await
            .map_err(|e| ServiceError::of("looking for due webhooks", e))?;
        // A full batch: more are probably due.
        Ok(if sent == BATCH {
            Pace::Busy
        } else {
            Pace::Idle
        })
    }
}
