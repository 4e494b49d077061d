//! The server backend: PostgreSQL, shared by many worker processes. It mirrors the SQLite
//! backend statement for statement where it can; what differs is concurrency control.
//!
//! Locking protocol (deadlock freedom): a transaction that changes items first locks the rows
//! of their jobs, always in ascending id order (`... WHERE id = ANY($1) ORDER BY id FOR
//! UPDATE`), and only then the items, again in id order. Claims take items with `FOR UPDATE
//! SKIP LOCKED`. Heartbeats lock only items (in id order) and never wait for a job, so they
//! cannot close a cycle. Listings lock one job row (`claim_listing` with `SKIP LOCKED`;
//! `add_items` and `seal_job` before inserting or counting items). A document write locks its
//! item before the document, the order in which deleting a job reaches them (items, then the
//! `ON DELETE SET NULL` of their documents). Batches cross the boundary as arrays
//! (`= ANY($1)`, `UNNEST`), so a claim or a completion of a thousand items costs a handful of
//! statements.

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
mod text;
mod tokens;
mod webhooks;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use async_trait::async_trait;
use docket_core::{
    Document, Item, ItemState, Job, JobBook, JobId, JobKind, JobState, Millis, PauseReason, Stage,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{FromRow, Postgres, Row, Transaction};

use crate::plan::{fair_shares, ClaimCandidate, CompletionPlan};
use crate::prelude::*;
use crate::row::stats_rows;
use crate::row::{
    page_limit, token_id, CategoryRow, DocumentRow, ErrorRow, ItemRow, JobDetail, JobRow, TokenRow,
    DOCUMENT_COLUMNS, ITEM_COLUMNS, JOB_COLUMNS,
};
use crate::types::search_terms;
use crate::{
    Category, CategoryRule, ChangeCursor, Claimed, CompleteReport, Completion, Created, ItemChange,
    ItemQuery, JobControl, JobQuery, Listing, NewDocument, NewItem, NewJob, Page, ProgressUpdate,
    ResultRow, SearchHit, SearchQuery, SearchResults, StoreError, StoredModel, TokenInfo,
    WebhookNext,
};
use text::{copy_text, holds_nul, json_text, may_hold_nul, text_without_nul};

/// The LISTEN/NOTIFY channel on which new work is announced.
const WORK_CHANNEL: &str = "docket_work";

pub struct PgStore {
    pool: PgPool,
}

type Tx = Transaction<'static, Postgres>;

/// Items per COPY batch when creating a job: bounds the size of one buffer sent to the server.
const INSERT_CHUNK: usize = 20_000;

/// How many runnable jobs one claim looks at, least recently served first.
const CLAIM_CANDIDATES: i64 = 64;

/// The job columns every query selects, with the JSON detail cast to text for [`JobDetail`].
fn job_select() -> String {
    format!(
        "SELECT {JOB_COLUMNS}, options::text AS options, result::text AS result, notify_url, \
         notify_state, notify_attempts::text AS notify_attempts FROM jobs"
    )
}

/// The document columns for a RETURNING clause, JSON as text.
fn document_returning() -> String {
    document_select()
        .trim_start_matches("SELECT ")
        .trim_end_matches(" FROM documents")
        .to_string()
}

/// The document columns every query selects, with the JSON metadata cast to text for
/// [`DocumentRow`].
fn document_select() -> String {
    let columns: Vec<&str> = DOCUMENT_COLUMNS
        .split(',')
        .map(str::trim)
        .map(|c| match c {
            "metadata" => "metadata::text AS metadata",
            c => c,
        })
        .collect();
    format!("SELECT {} FROM documents", columns.join(", "))
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("docket");
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        // sqlx serialises concurrent migrators with an advisory lock.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// Tells idle engines in every process that work arrived (delivered on commit).
    async fn notify_work(tx: &mut Tx) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(WORK_CHANNEL)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// Locks the rows of these jobs, in id order, and returns them (missing ones are absent).
    async fn lock_jobs(tx: &mut Tx, ids: &[String]) -> Result<Vec<LockedJobRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS}, max_workers, max_retries, item_timeout_ms FROM jobs \
             WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE"
        ))
        .bind(ids)
        .fetch_all(&mut **tx)
        .await?)
    }

    async fn lock_book(tx: &mut Tx, id: &str) -> Result<Option<JobBook>, StoreError> {
        let row: Option<JobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE"
        ))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        row.map(|r| r.book()).transpose()
    }

    /// Before deleting jobs: locks their still running items in id order, as heartbeats do, so
    /// that the cascade cannot deadlock with a heartbeat of a worker still finishing one.
    async fn lock_running_items(tx: &mut Tx, job_ids: &[String]) -> Result<(), StoreError> {
        sqlx::query(
            "SELECT id FROM items WHERE job_id = ANY($1::text[]) AND state = 'running' \
             ORDER BY id FOR UPDATE",
        )
        .bind(job_ids)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Writes a job's bookkeeping back; `claimed_at` also records when it was last served.
    async fn write_book(
        tx: &mut Tx,
        id: &str,
        b: &JobBook,
        now: Millis,
        claimed_at: Option<Millis>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET state = $1::text, pause_requested = $2, pause_reason = $3, \
             pending = $4, running = $5, retrying = $6, succeeded = $7, failed = $8, \
             cancelled = $9, consecutive_failures = $10, failure_streak = $11, error = $12, \
             updated_at = $13::bigint, total = $16, sealed = $17, \
             started_at = COALESCE(started_at, CASE WHEN $1::text = 'running' THEN $13::bigint END), \
             finished_at = CASE WHEN $1::text IN ('completed', 'failed', 'cancelled') \
                                THEN COALESCE(finished_at, $13::bigint) END, \
             last_claim_at = COALESCE($15::bigint, last_claim_at) \
             WHERE id = $14",
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
        .bind(claimed_at)
        .bind(b.counts.total)
        .bind(b.sealed)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Locks a job this worker is listing and returns its book, or fails if the worker lost
    /// the listing (another took it over), the job was sealed, or it finished meanwhile.
    async fn listing_book(tx: &mut Tx, id: &str, worker: &str) -> Result<JobBook, StoreError> {
        let row: Option<ListingJobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS}, lister_id FROM jobs WHERE id = $1 FOR UPDATE"
        ))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        match row {
            Some(r)
                if r.lister_id.as_deref() == Some(worker)
                    && !r.job.sealed
                    && r.job.finished_at.is_none() =>
            {
                r.job.book()
            }
            _ => Err(StoreError::Invalid(
                "this worker no longer lists that job".into(),
            )),
        }
    }

    /// Moves every not-yet-started item of a job to `cancelled`. The job row must be locked.
    async fn cancel_unstarted(tx: &mut Tx, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE items SET event_seq = nextval('item_event_seq'), state = 'cancelled' WHERE job_id = $1 AND state = 'pending'")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'cancelled', next_attempt_at = NULL \
             WHERE job_id = $1 AND state = 'retrying'",
        )
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn job_on(pool: &PgPool, id: &str, now: Millis) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(&format!(
            "{} WHERE id = $1 AND deleted_at IS NULL",
            job_select()
        ))
        .bind(id)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Self::finish_job(pool, &row, now).await?))
    }

    async fn finish_job(pool: &PgPool, row: &PgRow, now: Millis) -> Result<Job, StoreError> {
        use sqlx::FromRow;
        let job = JobRow::from_row(row)?;
        let detail = JobDetail::from_row(row)?;
        let current: Vec<(String, f64)> = if job.running > 0 {
            sqlx::query_as(
                "SELECT name, progress FROM items WHERE job_id = $1 AND state = 'running' \
                 ORDER BY id",
            )
            .bind(&job.id)
            .fetch_all(pool)
            .await?
        } else {
            Vec::new()
        };
        job.into_job(detail, current, now)
    }

    /// Inserts a job's items in submit order (identity values follow the order of the rows),
    /// streamed with COPY: several times faster than an `INSERT ... SELECT FROM UNNEST`.
    async fn insert_items(tx: &mut Tx, job_id: &str, items: &[NewItem]) -> Result<(), StoreError> {
        let mut buf = Vec::new();
        let mut payload = Vec::new();
        for chunk in items.chunks(INSERT_CHUNK) {
            buf.clear();
            for item in chunk {
                payload.clear();
                if item.name.contains('\0') {
                    return Err(StoreError::Invalid(format!(
                        "item name {:?} contains a NUL character",
                        item.name
                    )));
                }
                serde_json::to_writer(&mut payload, &item.payload)?;
                if may_hold_nul(&payload) && holds_nul(&serde_json::to_value(&item.payload)?) {
                    return Err(StoreError::Invalid(format!(
                        "the payload of item {:?} contains a NUL character",
                        item.name
                    )));
                }
                copy_text(&mut buf, job_id.as_bytes());
                buf.push(b'\t');
                copy_text(&mut buf, item.name.as_bytes());
                buf.push(b'\t');
                copy_text(&mut buf, &payload);
                buf.extend_from_slice(b"\tpending\n");
            }
            let mut copy = tx
                .copy_in_raw("COPY items (job_id, name, payload, state) FROM STDIN")
                .await?;
            if let Err(e) = copy.send(buf.as_slice()).await {
                // Leave the connection usable; the transaction is rolled back anyway.
                let _ = copy.abort("sending items failed").await;
                return Err(e.into());
            }
            copy.finish().await?;
        }
        Ok(())
    }
}

/// Job kinds as a `text[]`, for `kind = ANY($n)`.
fn kind_names(kinds: &[JobKind]) -> Vec<&'static str> {
    kinds.iter().map(|k| k.as_str()).collect()
}

#[derive(sqlx::FromRow)]
struct LockedJobRow {
    #[sqlx(flatten)]
    job: JobRow,
    max_workers: Option<i64>,
    max_retries: i64,
    item_timeout_ms: i64,
}

/// A job row with who lists it, for [`PgStore::listing_book`].
#[derive(sqlx::FromRow)]
struct ListingJobRow {
    #[sqlx(flatten)]
    job: JobRow,
    lister_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: i64,
    name: String,
    payload: String,
    attempts: i64,
    stage: String,
    checkpoint: Option<String>,
}

/// What a claim first sees of a runnable job, without locking it.
#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: String,
    pending: i64,
    running: i64,
    retrying: i64,
    max_workers: Option<i64>,
}

fn candidate(
    max_workers: Option<i64>,
    running: i64,
    pending: i64,
    retrying: i64,
) -> ClaimCandidate {
    ClaimCandidate {
        headroom: max_workers.map_or(i64::MAX, |m| m - running),
        waiting: pending + retrying,
    }
}
