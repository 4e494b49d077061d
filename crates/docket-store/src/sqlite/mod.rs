//! The embedded backend: one SQLite file in WAL mode. All writes go through a single
//! connection (SQLite has one writer anyway) with `BEGIN IMMEDIATE`, so writers queue in
//! process instead of failing with SQLITE_BUSY; reads use a small pool of their own.
//! Batches cross the boundary as one JSON array bound to a single statement (`json_each`), so
//! a claim or a completion of a thousand items costs a handful of statements, not thousands.

mod categories;
mod completion;
mod creation;
mod deletion;
mod documents;
mod driver;
mod events;
mod export;
mod jobs;
mod listing;
#[cfg(feature = "testing")]
mod probe;
mod queue;
mod stats;
mod tokens;
mod webhooks;

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use docket_core::{
    Document, Item, ItemState, Job, JobBook, JobId, JobKind, JobState, Millis, PauseReason, Stage,
};
use serde_json::json;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{FromRow, Row, Sqlite, Transaction};

use crate::plan::{fair_shares, ClaimCandidate};
use crate::prelude::*;
use crate::row::stats_rows;
use crate::row::{
    page_limit, token_id, CategoryRow, DocumentRow, ErrorRow, ItemRow, JobDetail, JobRow, TokenRow,
    DOCUMENT_COLUMNS, ITEM_COLUMNS, JOB_COLUMNS, JOB_DETAIL_COLUMNS,
};
use crate::types::search_terms;
use crate::{
    Category, CategoryRule, ChangeCursor, Claimed, CompleteReport, Completion, Created, ItemChange,
    ItemQuery, JobControl, JobQuery, Listing, NewDocument, NewItem, NewJob, Page, ProgressUpdate,
    ResultRow, SearchHit, SearchQuery, SearchResults, StoreError, StoredModel, TokenInfo,
    WebhookNext,
};

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

type Tx = Transaction<'static, Sqlite>;

/// Items per INSERT statement when creating a job: bounds the size of one bound JSON value.
const INSERT_CHUNK: usize = 20_000;

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        if let Some(dir) = std::path::Path::new(options.get_filename()).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options)
            .await?;
        Ok(SqliteStore { writer, reader })
    }

    /// A write transaction. It ticks the event clock, so the item changes it makes carry a
    /// number no earlier transaction used (see migration 0004).
    async fn begin(&self) -> Result<Tx, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE event_clock SET seq = seq + 1")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    async fn load_book(tx: &mut Tx, id: &str) -> Result<Option<(JobRow, JobBook)>, StoreError> {
        let row: Option<JobRow> =
            sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
        row.map(|r| r.book().map(|b| (r, b))).transpose()
    }

    async fn write_book(tx: &mut Tx, id: &str, b: &JobBook, now: Millis) -> Result<(), StoreError> {
        Self::write_book_claimed(tx, id, b, now, None).await
    }

    /// Writes the book back; a claim also records when the job was last served (fairness).
    async fn write_book_claimed(
        tx: &mut Tx,
        id: &str,
        b: &JobBook,
        now: Millis,
        claimed_at: Option<Millis>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = ?1, pause_requested = ?2, pause_reason = ?3, pending = ?4, \
             running = ?5, retrying = ?6, succeeded = ?7, failed = ?8, cancelled = ?9, \
             consecutive_failures = ?10, failure_streak = ?11, error = ?12, updated_at = ?13, \
             total = ?15, sealed = ?16, last_claim_at = COALESCE(?17, last_claim_at), \
             started_at = COALESCE(started_at, CASE WHEN ?1 = 'running' THEN ?13 END), \
             finished_at = CASE WHEN ?1 IN ('completed', 'failed', 'cancelled') \
                                THEN COALESCE(finished_at, ?13) END \
             WHERE id = ?14",
        )
        .bind(b.state.as_str())
        .bind(b.pause_requested)
        .bind(b.pause_reason.map(PauseReason::as_str))
        .bind(b.counts.pending)
        .bind(b.counts.running)
        .bind(b.counts.retrying)
        .bind(b.counts.succeeded)
        .bind(b.counts.failed)
        .bind(b.counts.cancelled)
        .bind(b.consecutive_failures as i64)
        .bind(b.failure_streak)
        .bind(b.error.as_deref())
        .bind(now)
        .bind(id)
        .bind(b.counts.total)
        .bind(b.sealed)
        .bind(claimed_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn insert_items(tx: &mut Tx, id: &str, items: &[NewItem]) -> Result<(), StoreError> {
        for chunk in items.chunks(INSERT_CHUNK) {
            // Serialised straight to text: `[[name, payload], …]`, no intermediate values.
            let batch: Vec<(&str, &docket_core::ItemPayload)> = chunk
                .iter()
                .map(|i| (i.name.as_str(), &i.payload))
                .collect();
            sqlx::query(
                "INSERT INTO items (job_id, name, payload, state) \
                 SELECT ?1, value ->> '$[0]', value -> '$[1]', 'pending' FROM json_each(?2)",
            )
            .bind(id)
            .bind(serde_json::to_string(&batch)?)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// The book of a job this worker is listing, or an error if it lost the listing.
    async fn listing_book(tx: &mut Tx, id: &str, worker: &str) -> Result<JobBook, StoreError> {
        let held: Option<String> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE id = ? AND lister_id = ? AND sealed = 0 AND finished_at IS NULL",
        )
        .bind(id)
        .bind(worker)
        .fetch_optional(&mut **tx)
        .await?;
        if held.is_none() {
            return Err(StoreError::Invalid(
                "this worker no longer lists that job".into(),
            ));
        }
        let (_, book) = Self::load_book(tx, id).await?.ok_or(StoreError::NotFound)?;
        Ok(book)
    }

    /// Moves every not-yet-started item of a job to `cancelled`.
    async fn cancel_unstarted(tx: &mut Tx, id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'cancelled' WHERE id IN \
             (SELECT id FROM items INDEXED BY items_pending WHERE job_id = ? AND state = 'pending')",
        )
        .bind(id)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'cancelled', next_attempt_at = NULL WHERE id IN \
             (SELECT id FROM items INDEXED BY items_retrying WHERE job_id = ? AND state = 'retrying')",
        )
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn job_on<'e, E>(executor: E, id: &str, now: Millis) -> Result<Option<Job>, StoreError>
    where
        E: sqlx::Executor<'e, Database = Sqlite> + Copy,
    {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS}, {JOB_DETAIL_COLUMNS} FROM jobs WHERE id = ? AND deleted_at IS NULL"
        ))
        .bind(id)
        .fetch_optional(executor)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Self::finish_job(executor, &row, now).await?))
    }

    async fn finish_job<'e, E>(
        executor: E,
        row: &sqlx::sqlite::SqliteRow,
        now: Millis,
    ) -> Result<Job, StoreError>
    where
        E: sqlx::Executor<'e, Database = Sqlite>,
    {
        use sqlx::FromRow;
        let job = JobRow::from_row(row)?;
        let detail = JobDetail::from_row(row)?;
        let current: Vec<(String, f64)> = if job.running > 0 {
            sqlx::query_as(
                "SELECT name, progress FROM items INDEXED BY items_running \
                 WHERE job_id = ? AND state = 'running' ORDER BY id",
            )
            .bind(&job.id)
            .fetch_all(executor)
            .await?
        } else {
            Vec::new()
        };
        job.into_job(detail, current, now)
    }
}

/// Job kinds as one JSON array, for `kind IN (SELECT value FROM json_each(?))`.
fn kinds_json(kinds: &[JobKind]) -> String {
    serde_json::Value::from(kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()).to_string()
}

fn ids_json(ids: impl IntoIterator<Item = i64>) -> String {
    serde_json::Value::from(ids.into_iter().collect::<Vec<_>>()).to_string()
}

#[derive(sqlx::FromRow)]
struct ClaimJobRow {
    #[sqlx(flatten)]
    job: JobRow,
    max_workers: Option<i64>,
    max_retries: i64,
    item_timeout_ms: i64,
}

/// id, name, payload, attempts, stage, checkpoint.
type ClaimedRow = (
    i64,
    String,
    serde_json::Value,
    i64,
    String,
    Option<serde_json::Value>,
);
