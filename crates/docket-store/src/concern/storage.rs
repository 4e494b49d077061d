//! Each user's storage: a counter the schema keeps in step with their jobs' uploads, so that a
//! quota check or `GET /v1/me` costs one row read, never a walk over blobs.

use async_trait::async_trait;

use crate::StoreError;

#[async_trait]
pub trait StorageStore: Send + Sync + 'static {
    /// Bytes uploaded with `user`'s jobs that are still stored: added when a job is created
    /// with its uploads, taken off when the job's row is deleted (after its files).
    async fn storage_used(&self, user: &str) -> Result<u64, StoreError>;
}
