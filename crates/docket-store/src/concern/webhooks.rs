//! Webhook delivery bookkeeping.

use async_trait::async_trait;
use docket_core::{Job, Millis};

use crate::*;

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Finished jobs whose webhook delivery is due, each held until `lease_until` so that no
    /// other process sends it meanwhile (a sender that dies just lets the hold lapse).
    async fn due_webhooks(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError>;

    /// Records one delivery attempt of a job's webhook and what comes next.
    async fn record_webhook(
        &self,
        job_id: &str,
        attempt: docket_core::WebhookAttempt,
        next: WebhookNext,
    ) -> Result<(), StoreError>;
}
