//! The work queue: claims, completions, heartbeats, rescue of expired leases, and the control state workers watch.

use async_trait::async_trait;
use docket_core::{JobKind, Millis};

use crate::*;

#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// Claims up to `limit` runnable items for `worker`, shared fairly between running jobs and
    /// within each job's `max_workers`, under a lease that ends at `lease_until`. Only jobs of
    /// `kinds` (those this process has handlers for) are looked at, so a mixed fleet never hands
    /// an item to a process that cannot run it.
    async fn claim(
        &self,
        worker: &str,
        kinds: &[JobKind],
        limit: usize,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<Claimed>, StoreError>;

    /// Applies the decided targets of items this worker holds. Items it no longer holds (their
    /// lease expired and someone else took them) are skipped and reported as `lost`.
    async fn complete(
        &self,
        worker: &str,
        done: Vec<Completion>,
        now: Millis,
    ) -> Result<CompleteReport, StoreError>;

    /// Durably records what a running item has produced so far (`stage` is the stage it is
    /// in), so that a later attempt resumes from it. Applies only while the item is still
    /// `running` under `worker`: returns `false`, changing nothing, once it lost the item.
    async fn save_checkpoint(
        &self,
        worker: &str,
        item_id: i64,
        stage: docket_core::Stage,
        checkpoint: serde_json::Value,
    ) -> Result<bool, StoreError>;

    /// Extends the leases of the items this worker holds and records their progress. Returns the
    /// ids it still holds.
    async fn heartbeat(
        &self,
        worker: &str,
        held: &[ProgressUpdate],
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<i64>, StoreError>;

    /// Takes back items whose lease expired: their worker died. Each counts as a failed,
    /// transient attempt. Returns how many were taken back.
    async fn rescue_expired(&self, now: Millis) -> Result<u64, StoreError>;

    /// The control state of these jobs, for workers watching for pause, cancel and deadlines.
    async fn job_controls(&self, ids: &[String]) -> Result<Vec<JobControl>, StoreError>;

    /// A signal that fires when another process announces new work (PostgreSQL
    /// LISTEN/NOTIFY), so idle engines start at once instead of at their next poll. `None`:
    /// this backend has no such signal, and engines poll.
    async fn work_signal(&self) -> Result<Option<std::sync::Arc<tokio::sync::Notify>>, StoreError>;
}
