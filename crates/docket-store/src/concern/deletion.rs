//! Durable deletion of jobs. Deleting marks the job: from then on no read shows it (no
//! `get_job`, no `list_jobs`), and its idempotency key is free again. A deletion pass then takes
//! marked jobs under a lease, removes their files (outside the database, so not here) and
//! finally their rows, in one transaction. A pass that fails or dies leaves the mark: the job is
//! taken again when its lease or retry time passes, so nothing is leaked and no half-deleted job
//! is ever visible.

use async_trait::async_trait;
use docket_core::Millis;

use crate::StoreError;

#[async_trait]
pub trait Deletions: Send + Sync + 'static {
    /// Marks a finished job deleted. `NotFound` if there is no such (unmarked) job; a rule
    /// error if it is not finished.
    async fn mark_deleted(&self, id: &str, now: Millis) -> Result<(), StoreError>;

    /// Marks every job that finished before `before` (retention). Returns how many.
    async fn mark_expired(&self, before: Millis, now: Millis) -> Result<u64, StoreError>;

    /// Takes up to `limit` marked jobs whose retry time has come, and pushes their retry time
    /// to `lease_until` so that no other pass takes them meanwhile.
    async fn take_deletions(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// Removes a marked job's rows (items, results, events with it). Removing one that is
    /// already gone is no error.
    async fn remove_deleted(&self, id: &str) -> Result<(), StoreError>;

    /// Records that removing a marked job failed; it is taken again at `retry_at`.
    async fn deletion_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Millis,
    ) -> Result<(), StoreError>;

    /// How often removing this marked job has failed, and the last error; `None` if the job is
    /// not marked (or gone).
    async fn deletion_state(&self, id: &str) -> Result<Option<(u32, Option<String>)>, StoreError>;
}
