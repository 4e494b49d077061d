//! Jobs listed from a source: the listing lease, listed items, and sealing.

use async_trait::async_trait;
use docket_core::{Job, JobKind, Millis};

use crate::*;

#[async_trait]
pub trait ListingStore: Send + Sync + 'static {
    /// Takes the listing of one unsealed job of one of `kinds` (those this process has listers
    /// for) whose listing is not leased (or whose lister died).
    async fn claim_listing(
        &self,
        worker: &str,
        kinds: &[JobKind],
        lease_until: Millis,
        now: Millis,
    ) -> Result<Option<Listing>, StoreError>;

    /// Adds listed items to a job this worker is listing, extending its lease. Fails if the
    /// worker lost the listing or the job finished (cancelled meanwhile).
    async fn add_items(
        &self,
        job_id: &str,
        worker: &str,
        items: Vec<NewItem>,
        lease_until: Millis,
        now: Millis,
    ) -> Result<(), StoreError>;

    /// Marks the listing complete. A job whose source held nothing fails with a clear error.
    async fn seal_job(&self, job_id: &str, worker: &str, now: Millis) -> Result<Job, StoreError>;
}
