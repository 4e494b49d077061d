//! Jobs and their control: creating, reading, pausing, resuming, cancelling, failing, deleting, deadlines and retention.

use async_trait::async_trait;
use docket_core::{Item, Job, JobPatch, Millis, PauseReason};

use crate::*;

#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Creates a job and all its items. With an idempotency key that this user already used, the
    /// first job is returned instead and nothing is created (`created == false`).
    async fn create_job(&self, new: NewJob, now: Millis) -> Result<Created, StoreError>;

    async fn get_job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError>;

    async fn list_jobs(&self, query: &JobQuery, now: Millis) -> Result<Page<Job>, StoreError>;

    async fn list_items(&self, job_id: &str, query: &ItemQuery) -> Result<Page<Item>, StoreError>;

    async fn pause_job(
        &self,
        id: &str,
        reason: PauseReason,
        now: Millis,
    ) -> Result<Job, StoreError>;

    async fn resume_job(&self, id: &str, now: Millis) -> Result<Job, StoreError>;

    async fn cancel_job(&self, id: &str, now: Millis) -> Result<Job, StoreError>;

    /// Deletes a finished job with its items and results.
    async fn delete_job(&self, id: &str) -> Result<(), StoreError>;

    /// Fails every unfinished job whose deadline has passed. Returns how many.
    async fn expire_deadlines(&self, now: Millis) -> Result<u64, StoreError>;

    /// Changes the priority and/or worker cap of an unfinished job (a finished one is a
    /// `Rule` error); claims in every process follow from their next round.
    async fn change_job(&self, id: &str, patch: &JobPatch, now: Millis) -> Result<Job, StoreError>;

    /// Makes jobs whose `not_before` has come claimable. Returns how many.
    async fn release_held(&self, now: Millis) -> Result<u64, StoreError>;

    /// Deletes jobs that finished before `before` (documents stay). Returns their ids, so the
    /// caller can delete their files too.
    async fn purge_finished(&self, before: Millis) -> Result<Vec<String>, StoreError>;

    /// Results of a job in item order, after the item id `after`.
    async fn results(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ResultRow>, StoreError>;

    /// The job this user created with this idempotency key, if any.
    async fn job_by_idempotency_key(
        &self,
        user: &str,
        key: &str,
        now: Millis,
    ) -> Result<Option<Job>, StoreError>;

    /// Records what a job produced as a whole (e.g. the AMI set a `publish` made), shown as the
    /// job's `result`. Only while the job is unfinished; returns whether it was recorded.
    async fn set_job_result(
        &self,
        job_id: &str,
        result: serde_json::Value,
    ) -> Result<bool, StoreError>;

    /// Fails an unfinished job (its input could not be read); unstarted items are cancelled.
    async fn fail_job(&self, job_id: &str, error: &str, now: Millis) -> Result<Job, StoreError>;
}
