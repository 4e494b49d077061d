//! Resumable (tus) uploads: the state every process resumes a `PATCH` from, and the submit
//! that turns finished uploads into a job's items.

use async_trait::async_trait;
use docket_core::Millis;

use crate::*;

#[async_trait]
pub trait UploadStore: Send + Sync + 'static {
    async fn create_upload(
        &self,
        new: NewResumableUpload,
        now: Millis,
    ) -> Result<ResumableUpload, StoreError>;

    /// `user`'s upload with this id, whatever its state (`None` for another user's or none).
    async fn upload(&self, id: &str, user: &str) -> Result<Option<ResumableUpload>, StoreError>;

    /// Acknowledges the bytes a `PATCH` made durable: moves the offset from `advance.from` to
    /// `advance.to` with the hash state after them. `false` when the upload is no longer at
    /// `advance.from` (another `PATCH` got there first), was consumed, or is gone.
    async fn advance_upload(
        &self,
        id: &str,
        advance: UploadAdvance<'_>,
        now: Millis,
    ) -> Result<bool, StoreError>;

    /// Gives `writer` the right to write upload `id` until `until`, if no other writer holds
    /// it (or its hold lapsed before `now`); renews it if `writer` holds it. `false` if
    /// another writer holds it.
    async fn hold_upload(
        &self,
        id: &str,
        writer: &str,
        until: Millis,
        now: Millis,
    ) -> Result<bool, StoreError>;

    /// Gives `writer`'s right to write upload `id` back (nothing if it holds none).
    async fn release_upload(&self, id: &str, writer: &str) -> Result<(), StoreError>;

    /// The bytes `user`'s open uploads (unconsumed, unexpired) will hold once finished: what
    /// they claim of the storage quota before a job owns them.
    async fn open_upload_bytes(&self, user: &str, now: Millis) -> Result<u64, StoreError>;

    /// Makes an unconsumed upload of `user` expire at once (tus termination): every read
    /// then treats it as expired and the cleaner removes it. `false` if there is none.
    async fn expire_upload(&self, id: &str, user: &str, now: Millis) -> Result<bool, StoreError>;

    /// Uploads whose blobs can go, oldest first, at most `limit`: unconsumed ones past their
    /// expiry, and consumed ones whose job is gone.
    async fn removable_uploads(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<ResumableUpload>, StoreError>;

    /// Deletes an upload's row (once its blobs are removed) if it is still removable.
    async fn forget_upload(&self, id: &str, now: Millis) -> Result<bool, StoreError>;

    /// Creates the job and, in the same transaction, consumes `uploads` (each `new.user`'s,
    /// finished, unexpired and not consumed yet) by it. An idempotent replay answers the first
    /// job and consumes nothing. `StoreError::Conflict` names an upload that is not (or no
    /// longer) available.
    async fn create_job_from_uploads(
        &self,
        new: NewJob,
        uploads: &[String],
        now: Millis,
    ) -> Result<Created, StoreError>;
}
