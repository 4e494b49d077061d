//! Test-only hooks that write straight into the schema (the `testing` feature).

use async_trait::async_trait;
use docket_core::JobState;

use crate::*;

#[async_trait]
pub trait SchemaProbe: Send + Sync + 'static {
    /// Writes `state` straight into the schema, bypassing the bookkeeping, to prove that the
    /// schema itself refuses illegal transitions. Returns whether the database accepted it.
    /// Used by the conformance suite only.
    async fn probe_job_transition(&self, from: JobState, to: JobState) -> Result<bool, StoreError>;

    async fn probe_item_transition(
        &self,
        from: docket_core::ItemState,
        to: docket_core::ItemState,
    ) -> Result<bool, StoreError>;

    /// Inserts an item of a job that does not exist, and tries to move an item to another
    /// job (both rolled back). Returns whether the database accepted either.
    async fn probe_item_without_its_job(&self) -> Result<bool, StoreError>;

    /// Rows of items and of their results that still refer to this job.
    async fn probe_rows_of_job(&self, job_id: &str) -> Result<i64, StoreError>;
}
