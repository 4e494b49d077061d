//! Durable storage for jobs, items and results behind one trait, [`Store`], with two backends:
//! SQLite (the embedded default) and PostgreSQL (for many worker processes). Both run the same
//! conformance suite ([`conformance`]).

#[cfg(feature = "testing")]
pub mod conformance;
mod error;
mod plan;
pub mod postgres;
mod row;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod types;

use std::sync::Arc;

use async_trait::async_trait;
use docket_core::{Document, Item, Job, JobState, Millis, PauseReason};

pub use error::StoreError;
pub use types::*;

/// Everything the engine and the API need from a database. Every method is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Creates a job and all its items. With an idempotency key that this user already used, the
    /// first job is returned instead and nothing is created (`created == false`).
    async fn create_job(&self, new: NewJob, now: Millis) -> Result<Created, StoreError>;

    async fn get_job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError>;
    async fn list_jobs(&self, query: &JobQuery, now: Millis) -> Result<Page<Job>, StoreError>;
    async fn list_items(&self, job_id: &str, query: &ItemQuery) -> Result<Page<Item>, StoreError>;

    /// Items of a job whose state changed after `after`, each as it is now, in change order.
    /// An item that changed twice since `after` appears once, at its latest change; items that
    /// never changed (still pending since submit) do not appear.
    async fn item_changes(
        &self,
        job_id: &str,
        after: ChangeCursor,
        limit: usize,
    ) -> Result<Vec<ItemChange>, StoreError>;

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

    /// Claims up to `limit` runnable items for `worker`, shared fairly between running jobs and
    /// within each job's `max_workers`, under a lease that ends at `lease_until`.
    async fn claim(
        &self,
        worker: &str,
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

    /// Extends the leases of the items this worker holds and records their progress. Returns the
    /// ids it still holds.
    async fn heartbeat(
        &self,
        worker: &str,
        held: &[ProgressUpdate],
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<i64>, StoreError>;

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

    /// Takes back items whose lease expired: their worker died. Each counts as a failed,
    /// transient attempt. Returns how many were taken back.
    async fn rescue_expired(&self, now: Millis) -> Result<u64, StoreError>;

    /// The control state of these jobs, for workers watching for pause, cancel and deadlines.
    async fn job_controls(&self, ids: &[String]) -> Result<Vec<JobControl>, StoreError>;

    /// Fails every unfinished job whose deadline has passed. Returns how many.
    async fn expire_deadlines(&self, now: Millis) -> Result<u64, StoreError>;

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

    /// Takes the listing of one unsealed job whose listing is not leased (or whose lister died).
    async fn claim_listing(
        &self,
        worker: &str,
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

    /// Fails an unfinished job (its input could not be read); unstarted items are cancelled.
    async fn fail_job(&self, job_id: &str, error: &str, now: Millis) -> Result<Job, StoreError>;

    async fn create_token(
        &self,
        user: &str,
        hash: &str,
        label: Option<&str>,
        now: Millis,
    ) -> Result<TokenInfo, StoreError>;
    /// The user a (hashed) token belongs to, unless revoked.
    async fn token_user(&self, hash: &str) -> Result<Option<String>, StoreError>;
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;
    /// Returns false when no active token has this id.
    async fn revoke_token(&self, id: &str, now: Millis) -> Result<bool, StoreError>;

    /// Stores the document of an item, idempotently: a retried item updates the same document.
    /// Returns its id.
    async fn put_document(&self, doc: NewDocument, now: Millis) -> Result<String, StoreError>;
    async fn get_document(&self, id: &str) -> Result<Option<Document>, StoreError>;

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

    /// The newest document of this user with this content hash that was processed with the
    /// same options (`options_key`): its results can be reused instead of processing again.
    async fn find_processed(
        &self,
        user: &str,
        sha256: &str,
        options_key: &str,
    ) -> Result<Option<Document>, StoreError>;

    /// A user's categories, in the order their rules are tried (creation order).
    async fn list_categories(&self, user: &str) -> Result<Vec<Category>, StoreError>;
    /// Creates a category (`id == None`) or replaces one; a name already used by another of
    /// the user's categories is a `Conflict`, an unknown id `NotFound`.
    async fn put_category(
        &self,
        user: &str,
        id: Option<&str>,
        rule: CategoryRule,
        now: Millis,
    ) -> Result<Category, StoreError>;
    /// Returns whether it existed.
    async fn delete_category(&self, user: &str, id: &str) -> Result<bool, StoreError>;

    /// Sets a document's category by hand (`None` removes it): it becomes a label `auto`
    /// learns from, with confidence 1. `NotFound` for another user's document.
    async fn label_document(
        &self,
        user: &str,
        id: &str,
        category: Option<&str>,
    ) -> Result<Document, StoreError>;
    /// Sets what classification decided for a document; a hand label is never overwritten.
    async fn classify_document(
        &self,
        id: &str,
        category: Option<&str>,
        confidence: Option<f64>,
    ) -> Result<(), StoreError>;
    /// Ids of a user's documents in id order, after `after`.
    async fn document_ids(
        &self,
        user: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// Users whose labels or categories changed since their model was trained, with the
    /// version to train at.
    async fn training_due(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// The hand-labelled documents of a user: (text, category), newest first.
    async fn labelled_texts(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Stores a model trained at `labels_version`, unless a newer one is stored already.
    async fn save_model(
        &self,
        user: &str,
        labels_version: i64,
        model: Option<String>,
        now: Millis,
    ) -> Result<(), StoreError>;
    async fn load_model(&self, user: &str) -> Result<Option<StoredModel>, StoreError>;

    /// Jobs per state with the sums of their item counters, for `/metrics` (all users).
    async fn job_stats(&self) -> Result<Vec<(JobState, i64, docket_core::Counts)>, StoreError>;

    /// Ranked full-text search with highlighted snippets over a user's documents.
    async fn search(&self, query: &SearchQuery) -> Result<SearchResults, StoreError>;

    /// A signal that fires when another process announces new work (PostgreSQL
    /// LISTEN/NOTIFY), so idle engines start at once instead of at their next poll. `None`:
    /// this backend has no such signal, and engines poll.
    async fn work_signal(&self) -> Result<Option<std::sync::Arc<tokio::sync::Notify>>, StoreError>;

    /// Writes `state` straight into the schema, bypassing the bookkeeping, to prove that the
    /// schema itself refuses illegal transitions. Returns whether the database accepted it.
    /// Used by the conformance suite only.
    async fn probe_job_transition(&self, from: JobState, to: JobState) -> Result<bool, StoreError>;
    async fn probe_item_transition(
        &self,
        from: docket_core::ItemState,
        to: docket_core::ItemState,
    ) -> Result<bool, StoreError>;
}

/// Opens (and migrates) the store named by a database URL: `sqlite://PATH` or `postgres://…`.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::Config(format!(
            "unsupported database URL `{url}`: use sqlite://PATH or postgres://…"
        )))
    }
}
