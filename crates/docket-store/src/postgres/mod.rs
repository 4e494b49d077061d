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

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use async_trait::async_trait;
use docket_core::{
    Document, Item, ItemState, Job, JobBook, JobId, JobState, Millis, PauseReason, Stage,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{FromRow, Postgres, Row, Transaction};

use crate::plan::{fair_shares, plan_completions, rescue_target, ClaimCandidate, CompletionPlan};
use crate::row::stats_rows;
use crate::row::{
    page_limit, token_id, CategoryRow, DocumentRow, ErrorRow, ItemRow, JobDetail, JobRow, TokenRow,
    DOCUMENT_COLUMNS, ITEM_COLUMNS, JOB_COLUMNS,
};
use crate::types::search_terms;
use crate::{
    Category, CategoryRule, ChangeCursor, Claimed, CompleteReport, Completion, Created, ItemChange,
    ItemQuery, JobControl, JobQuery, Listing, NewDocument, NewItem, NewJob, Page, ProgressUpdate,
    ResultRow, SearchHit, SearchQuery, SearchResults, Store, StoreError, StoredModel, TokenInfo,
    WebhookNext,
};

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
        let row = sqlx::query(&format!("{} WHERE id = $1", job_select()))
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

    async fn control(
        &self,
        id: &str,
        now: Millis,
        apply: impl FnOnce(&mut JobBook) -> Result<ControlEffect, StoreError> + Send,
    ) -> Result<Job, StoreError> {
        let mut tx = self.begin().await?;
        let mut book = Self::lock_book(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        match apply(&mut book)? {
            ControlEffect::None => {}
            ControlEffect::CancelUnstarted => {
                Self::cancel_unstarted(&mut tx, id).await?;
                book.on_unstarted_cancelled();
            }
            ControlEffect::Requeue(streak) => {
                let n = sqlx::query(
                    "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'pending', failure_streak = NULL, attempts = 0, \
                     stage = 'queued', progress = 0 \
                     WHERE job_id = $1 AND state = 'failed' AND failure_streak = $2",
                )
                .bind(id)
                .bind(streak)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                book.on_requeued_failed(n as i64);
                book.settle();
            }
        }
        Self::write_book(&mut tx, id, &book, now, None).await?;
        if book.is_runnable() {
            Self::notify_work(&mut tx).await?;
        }
        tx.commit().await?;
        Self::job_on(&self.pool, id, now)
            .await?
            .ok_or(StoreError::NotFound)
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
                if may_hold_nul(&payload) && holds_nul(&item.payload) {
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

    /// Applies a completion plan's item updates, results and errors. The jobs and the items of
    /// the plan must be locked by this transaction.
    async fn apply_plan(tx: &mut Tx, plan: &CompletionPlan, now: Millis) -> Result<(), StoreError> {
        if !plan.succeeded.is_empty() {
            let ids: Vec<i64> = plan.succeeded.iter().map(|s| s.item_id).collect();
            sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'succeeded', stage = 'done', progress = 100, \
                 worker_id = NULL, lease_until = NULL, checkpoint = NULL \
                 WHERE id = ANY($1::bigint[])",
            )
            .bind(&ids)
            .execute(&mut **tx)
            .await?;
            let jobs: Vec<&str> = plan.succeeded.iter().map(|s| s.job_id.as_str()).collect();
            let outputs: Vec<String> = plan
                .succeeded
                .iter()
                .map(|s| json_text(&s.output))
                .collect();
            sqlx::query(
                "INSERT INTO results (item_id, job_id, output, created_at) \
                 SELECT i, j, o::jsonb, $4 FROM UNNEST($1::bigint[], $2::text[], $3::text[]) \
                 AS t(i, j, o) \
                 ON CONFLICT (item_id) DO UPDATE SET output = excluded.output",
            )
            .bind(&ids)
            .bind(&jobs)
            .bind(&outputs)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        if !plan.cancelled.is_empty() {
            sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'cancelled', worker_id = NULL, lease_until = NULL \
                 WHERE id = ANY($1::bigint[])",
            )
            .bind(&plan.cancelled)
            .execute(&mut **tx)
            .await?;
        }
        if !plan.failed.is_empty() {
            let ids: Vec<i64> = plan.failed.iter().map(|f| f.item_id).collect();
            let streaks: Vec<i64> = plan.failed.iter().map(|f| f.streak).collect();
            sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'failed', worker_id = NULL, lease_until = NULL, \
                 failure_streak = u.streak \
                 FROM UNNEST($1::bigint[], $2::bigint[]) AS u(id, streak) WHERE items.id = u.id",
            )
            .bind(&ids)
            .bind(&streaks)
            .execute(&mut **tx)
            .await?;
        }
        if !plan.retrying.is_empty() {
            let ids: Vec<i64> = plan.retrying.iter().map(|r| r.item_id).collect();
            let due: Vec<i64> = plan.retrying.iter().map(|r| r.next_attempt_at).collect();
            sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'retrying', worker_id = NULL, lease_until = NULL, \
                 next_attempt_at = u.due \
                 FROM UNNEST($1::bigint[], $2::bigint[]) AS u(id, due) WHERE items.id = u.id",
            )
            .bind(&ids)
            .bind(&due)
            .execute(&mut **tx)
            .await?;
        }
        if !plan.requeued.is_empty() {
            let ids: Vec<i64> = plan.requeued.iter().map(|r| r.item_id).collect();
            let stages: Vec<&str> = plan.requeued.iter().map(|r| r.stage.as_str()).collect();
            let progress: Vec<f64> = plan.requeued.iter().map(|r| r.progress).collect();
            let checkpoints: Vec<Option<String>> = plan
                .requeued
                .iter()
                .map(|r| r.checkpoint.as_ref().map(json_text))
                .collect();
            let refunds: Vec<i64> = plan
                .requeued
                .iter()
                .map(|r| i64::from(r.refund_attempt))
                .collect();
            sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'pending', worker_id = NULL, lease_until = NULL, \
                 stage = u.stage, progress = u.progress, checkpoint = COALESCE(u.checkpoint::jsonb, items.checkpoint), \
                 attempts = GREATEST(items.attempts - u.refund, 0) \
                 FROM UNNEST($1::bigint[], $2::text[], $3::float8[], $4::text[], $5::bigint[]) \
                 AS u(id, stage, progress, checkpoint, refund) WHERE items.id = u.id",
            )
            .bind(&ids)
            .bind(&stages)
            .bind(&progress)
            .bind(&checkpoints)
            .bind(&refunds)
            .execute(&mut **tx)
            .await?;
        }
        if !plan.errors.is_empty() {
            let ids: Vec<i64> = plan.errors.iter().map(|(id, _)| *id).collect();
            let attempts: Vec<i64> = plan.errors.iter().map(|(_, e)| e.attempt as i64).collect();
            let at: Vec<i64> = plan.errors.iter().map(|(_, e)| e.at).collect();
            let messages: Vec<String> = plan
                .errors
                .iter()
                .map(|(_, e)| e.message.replace('\0', "\u{fffd}"))
                .collect();
            let transient: Vec<bool> = plan.errors.iter().map(|(_, e)| e.transient).collect();
            sqlx::query(
                "INSERT INTO item_errors (item_id, attempt, at, message, transient) \
                 SELECT i, a, t, m, tr FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], \
                 $4::text[], $5::bool[]) WITH ORDINALITY AS u(i, a, t, m, tr, ord) ORDER BY ord",
            )
            .bind(&ids)
            .bind(&attempts)
            .bind(&at)
            .bind(&messages)
            .bind(&transient)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Settles the books of a completion and writes back those that changed.
    async fn write_books(
        tx: &mut Tx,
        before: &HashMap<String, JobBook>,
        books: &HashMap<String, JobBook>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut ids: Vec<&String> = books.keys().collect();
        ids.sort();
        for id in ids {
            let Some(book) = books.get(id) else { continue };
            let mut book = book.clone();
            book.settle();
            if before.get(id) != Some(&book) {
                Self::write_book(tx, id, &book, now, None).await?;
            }
        }
        Ok(())
    }
}

/// PostgreSQL's text and JSONB cannot hold U+0000. Submitted items with one are refused; what
/// a worker reports (outputs, checkpoints, error messages) gets U+FFFD in its place, since one
/// such character must not fail the whole batch it came in.
fn json_text(v: &serde_json::Value) -> String {
    let text = v.to_string();
    if !may_hold_nul(text.as_bytes()) {
        return text;
    }
    let mut v = v.clone();
    replace_nul(&mut v);
    v.to_string()
}

/// Text a worker reported, with U+FFFD in place of each NUL (see [`json_text`]).
fn text_without_nul(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Whether serialised JSON may contain an escaped NUL (it is always escaped as `\u0000`).
fn may_hold_nul(json: &[u8]) -> bool {
    json.windows(6).any(|w| w == b"\\u0000")
}

fn holds_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(holds_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fn replace_nul(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{fffd}"),
        Value::Array(a) => a.iter_mut().for_each(replace_nul),
        Value::Object(o) => {
            let entries = std::mem::take(o);
            for (k, mut v) in entries {
                replace_nul(&mut v);
                o.insert(k.replace('\0', "\u{fffd}"), v);
            }
        }
        _ => {}
    }
}

/// Appends `s` escaped for COPY's text format.
fn copy_text(buf: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

enum ControlEffect {
    None,
    CancelUnstarted,
    Requeue(i64),
}

/// Whether the database refused a statement for breaking a rule of the schema: a CHECK or
/// other integrity constraint, or the transition triggers (which raise `check_violation`).
fn refused_by_schema(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("23") || c.starts_with("P0")),
        _ => false,
    }
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

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn create_job(&self, new: NewJob, now: Millis) -> Result<Created, StoreError> {
        if new.items.is_empty() && new.source.is_none() {
            return Err(StoreError::Invalid("a job needs at least one item".into()));
        }
        new.options.validate()?;
        if new.source.as_ref().is_some_and(holds_nul) {
            return Err(StoreError::Invalid(
                "the source contains a NUL character".into(),
            ));
        }
        if let Some(key) = &new.idempotency_key {
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE user_id = $1 AND idempotency_key = $2",
            )
            .bind(&new.user)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(id) = existing {
                return self.existing(&id, now).await;
            }
        }
        let mut tx = self.begin().await?;
        let id = new
            .id
            .clone()
            .unwrap_or_else(|| JobId::generate().to_string());
        let total = new.items.len() as i64;
        let o = &new.options;
        // A concurrent submit with the same key waits on the unique index and then does
        // nothing here: it returns the job that won.
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, deadline_at, \
             total, pending, running, retrying, succeeded, failed, cancelled, max_workers, \
             max_retries, auto_pause_after, item_timeout_ms, options, idempotency_key, source, \
             sealed, notify_url, notify_state) \
             VALUES ($1, $2, $3, 'queued', $4, $4, $5, $6, $6, 0, 0, 0, 0, 0, $7, $8, $9, $10, \
             $11::jsonb, $12, $13::jsonb, $14, $15::text, \
             CASE WHEN $15::text IS NOT NULL THEN 'pending' END) \
             ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
             RETURNING id",
        )
        .bind(&id)
        .bind(&new.user)
        .bind(new.kind.as_str())
        .bind(now)
        .bind(o.deadline_seconds.map(|s| now + (s as i64) * 1000))
        .bind(total)
        .bind(o.max_workers.map(i64::from))
        .bind(o.max_retries as i64)
        .bind(o.auto_pause_after as i64)
        .bind((o.item_timeout_seconds as i64).saturating_mul(1000))
        .bind(serde_json::to_string(o)?)
        .bind(new.idempotency_key.as_deref())
        .bind(new.source.as_ref().map(|s| s.to_string()))
        .bind(new.source.is_none())
        .bind(o.notify_url.as_deref())
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_none() {
            tx.rollback().await?;
            let key = new.idempotency_key.as_deref().unwrap_or_default();
            let winner: Option<String> = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE user_id = $1 AND idempotency_key = $2",
            )
            .bind(&new.user)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
            return match winner {
                Some(id) => self.existing(&id, now).await,
                None => Err(StoreError::NotFound),
            };
        }
        Self::insert_items(&mut tx, &id, &new.items).await?;
        Self::notify_work(&mut tx).await?;
        tx.commit().await?;
        let job = Self::job_on(&self.pool, &id, now)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Created { job, created: true })
    }

    async fn get_job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError> {
        Self::job_on(&self.pool, id, now).await
    }

    async fn list_jobs(&self, q: &JobQuery, now: Millis) -> Result<Page<Job>, StoreError> {
        let limit = page_limit(q.limit);
        let rows = sqlx::query(&format!(
            "{} WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR state = $2) \
             AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR id < $4) \
             AND ($6::bigint IS NULL OR finished_at IS NULL OR updated_at > $6) \
             ORDER BY id DESC LIMIT $5",
            job_select()
        ))
        .bind(q.user.as_deref())
        .bind(q.state.map(JobState::as_str))
        .bind(q.kind.map(|k| k.as_str()))
        .bind(q.cursor.as_deref())
        .bind(limit as i64 + 1)
        .bind(q.live_since)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() > limit;
        let mut jobs = Vec::with_capacity(limit);
        for row in rows.iter().take(limit) {
            jobs.push(Self::finish_job(&self.pool, row, now).await?);
        }
        let next_cursor = if more {
            jobs.last().map(|j| j.id.clone())
        } else {
            None
        };
        Ok(Page {
            items: jobs,
            next_cursor,
        })
    }

    async fn list_items(&self, job_id: &str, q: &ItemQuery) -> Result<Page<Item>, StoreError> {
        let limit = page_limit(q.limit);
        let rows: Vec<ItemRow> = sqlx::query_as(&format!(
            "SELECT {ITEM_COLUMNS} FROM items \
             WHERE job_id = $1 AND ($2::text IS NULL OR state = $2) AND id > $3 \
             ORDER BY id LIMIT $4"
        ))
        .bind(job_id)
        .bind(q.state.map(ItemState::as_str))
        .bind(q.after.unwrap_or(0))
        .bind(limit as i64 + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() > limit;
        let rows: Vec<ItemRow> = rows.into_iter().take(limit).collect();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let errors: Vec<ErrorRow> = if ids.is_empty() {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT item_id, attempt, at, message, transient FROM item_errors \
                 WHERE item_id = ANY($1::bigint[]) ORDER BY id",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?
        };
        let next_cursor = if more {
            rows.last().map(|r| r.id.to_string())
        } else {
            None
        };
        let items = rows
            .into_iter()
            .map(|r| r.into_item(&errors))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    async fn item_changes(
        &self,
        job_id: &str,
        after: ChangeCursor,
        limit: usize,
    ) -> Result<Vec<ItemChange>, StoreError> {
        let limit = page_limit(limit);
        let rows: Vec<(i64, ItemRow)> = sqlx::query(&format!(
            "SELECT event_seq, {ITEM_COLUMNS} FROM items \
             WHERE job_id = $1 AND event_seq > 0 AND (event_seq, id) > ($2, $3) \
             ORDER BY event_seq, id LIMIT $4"
        ))
        .bind(job_id)
        .bind(after.seq)
        .bind(after.item_id)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| Ok((row.try_get("event_seq")?, ItemRow::from_row(&row)?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let ids: Vec<i64> = rows.iter().map(|(_, r)| r.id).collect();
        let errors: Vec<ErrorRow> = if ids.is_empty() {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT item_id, attempt, at, message, transient FROM item_errors \
                 WHERE item_id = ANY($1::bigint[]) ORDER BY id",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?
        };
        rows.into_iter()
            .map(|(seq, r)| {
                let cursor = ChangeCursor { seq, item_id: r.id };
                Ok(ItemChange {
                    cursor,
                    item: r.into_item(&errors)?,
                })
            })
            .collect()
    }

    async fn pause_job(
        &self,
        id: &str,
        reason: PauseReason,
        now: Millis,
    ) -> Result<Job, StoreError> {
        self.control(id, now, |b| {
            b.request_pause(reason)?;
            Ok(ControlEffect::None)
        })
        .await
    }

    async fn resume_job(&self, id: &str, now: Millis) -> Result<Job, StoreError> {
        self.control(id, now, |b| {
            Ok(match b.resume()? {
                Some(streak) => ControlEffect::Requeue(streak),
                None => ControlEffect::None,
            })
        })
        .await
    }

    async fn cancel_job(&self, id: &str, now: Millis) -> Result<Job, StoreError> {
        self.control(id, now, |b| {
            b.finish_early(JobState::Cancelled, None)?;
            Ok(ControlEffect::CancelUnstarted)
        })
        .await
    }

    async fn delete_job(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let book = Self::lock_book(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !book.state.is_finished() {
            return Err(docket_core::CoreError::IllegalControl {
                action: "delete",
                state: book.state,
            }
            .into());
        }
        Self::lock_running_items(&mut tx, &[id.to_string()]).await?;
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim(
        &self,
        worker: &str,
        limit: usize,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<Claimed>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Sorting is off for this transaction: the planner must walk items_pending in id order
        // and stop after `share` rows. Its estimates cannot be trusted here (a fresh table has
        // no statistics; a draining job's are stale at once), and when they are off it would
        // rather sort every pending item of the job, on every claim.
        let mut tx = self
            .pool
            .begin_with("BEGIN; SET LOCAL enable_sort = off")
            .await?;
        // A first look without locks picks the jobs to serve, least recently served first.
        let seen: Vec<CandidateRow> = sqlx::query_as(
            "SELECT id, pending, running, retrying, max_workers FROM jobs \
             WHERE state IN ('queued', 'running') AND pause_requested = false \
             ORDER BY last_claim_at LIMIT $1",
        )
        .bind(CLAIM_CANDIDATES)
        .fetch_all(&mut *tx)
        .await?;
        let first: Vec<ClaimCandidate> = seen
            .iter()
            .map(|j| candidate(j.max_workers, j.running, j.pending, j.retrying))
            .collect();
        let mut order: Vec<String> = seen
            .into_iter()
            .zip(fair_shares(&first, limit))
            .filter(|(_, share)| *share > 0)
            .map(|(j, _)| j.id)
            .collect();
        if order.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        // Lock them in id order, then decide again on what they are now.
        let mut sorted = order.clone();
        sorted.sort();
        let mut locked: HashMap<String, LockedJobRow> = Self::lock_jobs(&mut tx, &sorted)
            .await?
            .into_iter()
            .map(|j| (j.job.id.clone(), j))
            .collect();
        let mut jobs: Vec<(LockedJobRow, JobBook)> = Vec::with_capacity(order.len());
        for id in order.drain(..) {
            let Some(j) = locked.remove(&id) else {
                continue;
            };
            let book = j.job.book()?;
            if book.is_runnable() {
                jobs.push((j, book));
            }
        }
        let candidates: Vec<ClaimCandidate> = jobs
            .iter()
            .map(|(j, _)| candidate(j.max_workers, j.job.running, j.job.pending, j.job.retrying))
            .collect();
        let shares = fair_shares(&candidates, limit);
        let mut claimed = Vec::new();
        for ((j, mut book), share) in jobs.into_iter().zip(shares) {
            if share == 0 {
                continue;
            }
            let kind = j.job.kind.parse()?;
            let mut got_retrying = 0;
            let mut rows: Vec<ClaimedRow> = Vec::new();
            if j.job.retrying > 0 {
                rows = sqlx::query_as(
                    "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'running', attempts = attempts + 1, \
                     worker_id = $1, lease_until = $2, next_attempt_at = NULL \
                     WHERE id = ANY(ARRAY(SELECT id FROM items WHERE job_id = $3 \
                     AND state = 'retrying' AND next_attempt_at <= $4 \
                     ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED)) \
                     RETURNING id, name, payload::text AS payload, attempts, stage, \
                     checkpoint::text AS checkpoint",
                )
                .bind(worker)
                .bind(lease_until)
                .bind(&j.job.id)
                .bind(now)
                .bind(share as i64)
                .fetch_all(&mut *tx)
                .await?;
                got_retrying = rows.len();
            }
            let mut got_pending = 0;
            if rows.len() < share && j.job.pending > 0 {
                let pending: Vec<ClaimedRow> = sqlx::query_as(
                    "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'running', attempts = attempts + 1, \
                     worker_id = $1, lease_until = $2 \
                     WHERE id = ANY(ARRAY(SELECT id FROM items WHERE job_id = $3 \
                     AND state = 'pending' ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)) \
                     RETURNING id, name, payload::text AS payload, attempts, stage, \
                     checkpoint::text AS checkpoint",
                )
                .bind(worker)
                .bind(lease_until)
                .bind(&j.job.id)
                .bind((share - rows.len()) as i64)
                .fetch_all(&mut *tx)
                .await?;
                got_pending = pending.len();
                rows.extend(pending);
            }
            if rows.is_empty() {
                continue;
            }
            book.on_claimed(got_pending as i64, got_retrying as i64);
            Self::write_book(&mut tx, &j.job.id, &book, now, Some(now)).await?;
            rows.sort_by_key(|r| r.id);
            for r in rows {
                claimed.push(Claimed {
                    item_id: r.id,
                    job_id: j.job.id.clone(),
                    user: j.job.user_id.clone(),
                    kind,
                    name: r.name,
                    payload: serde_json::from_str(&r.payload)?,
                    attempts: r.attempts.max(0) as u32,
                    max_retries: j.max_retries.max(0) as u32,
                    timeout_ms: j.item_timeout_ms,
                    stage: Stage::parse(&r.stage).unwrap_or(Stage::Queued),
                    checkpoint: r
                        .checkpoint
                        .as_deref()
                        .map(serde_json::from_str)
                        .transpose()?,
                });
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn complete(
        &self,
        worker: &str,
        mut done: Vec<Completion>,
        now: Millis,
    ) -> Result<CompleteReport, StoreError> {
        if done.is_empty() {
            return Ok(CompleteReport::default());
        }
        // An item reported twice in one batch is applied once; the repeat counts as lost, as it
        // would in a later batch.
        let mut unique = HashSet::with_capacity(done.len());
        let before_dedup = done.len();
        done.retain(|c| unique.insert(c.item_id));
        let repeated = before_dedup - done.len();

        let mut tx = self.begin().await?;
        let mut job_ids: Vec<String> = done.iter().map(|c| c.job_id.clone()).collect();
        job_ids.sort();
        job_ids.dedup();
        let mut books = HashMap::new();
        for j in Self::lock_jobs(&mut tx, &job_ids).await? {
            let book = j.job.book()?;
            books.insert(j.job.id, book);
        }
        let before = books.clone();
        let ids: Vec<i64> = done.iter().map(|c| c.item_id).collect();
        let held: HashSet<i64> = sqlx::query_scalar(
            "SELECT id FROM items WHERE id = ANY($1::bigint[]) AND state = 'running' \
             AND worker_id = $2 ORDER BY id FOR UPDATE",
        )
        .bind(&ids)
        .bind(worker)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let mut plan = plan_completions(done, &held, &mut books);
        plan.report.lost += repeated;
        Self::apply_plan(&mut tx, &plan, now).await?;
        Self::write_books(&mut tx, &before, &books, now).await?;
        tx.commit().await?;
        Ok(plan.report)
    }

    async fn heartbeat(
        &self,
        worker: &str,
        held: &[ProgressUpdate],
        lease_until: Millis,
        _now: Millis,
    ) -> Result<Vec<i64>, StoreError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = held.iter().map(|u| u.item_id).collect();
        let stages: Vec<&str> = held.iter().map(|u| u.stage.as_str()).collect();
        let progress: Vec<f64> = held.iter().map(|u| u.progress.clamp(0.0, 100.0)).collect();
        // Items are locked in id order first, like a completion does, so that a heartbeat and
        // a completion of the same worker cannot deadlock.
        let ids: Vec<i64> = sqlx::query_scalar(
            "WITH mine AS MATERIALIZED (SELECT id FROM items WHERE id = ANY($1::bigint[]) \
             AND state = 'running' AND worker_id = $4 ORDER BY id FOR UPDATE) \
             UPDATE items SET lease_until = $5, stage = u.stage, progress = u.progress \
             FROM UNNEST($1::bigint[], $2::text[], $3::float8[]) AS u(id, stage, progress) \
             WHERE items.id = u.id AND items.id IN (SELECT id FROM mine) \
             AND items.state = 'running' AND items.worker_id = $4 \
             RETURNING items.id",
        )
        .bind(&ids)
        .bind(&stages)
        .bind(&progress)
        .bind(worker)
        .bind(lease_until)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    async fn save_checkpoint(
        &self,
        worker: &str,
        item_id: i64,
        stage: docket_core::Stage,
        checkpoint: serde_json::Value,
    ) -> Result<bool, StoreError> {
        let saved = sqlx::query(
            "UPDATE items SET stage = $1, checkpoint = $2::jsonb \
             WHERE id = $3 AND state = 'running' AND worker_id = $4",
        )
        .bind(stage.as_str())
        .bind(json_text(&checkpoint))
        .bind(item_id)
        .bind(worker)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(saved == 1)
    }

    async fn rescue_expired(&self, now: Millis) -> Result<u64, StoreError> {
        let expired: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, job_id FROM items WHERE state = 'running' AND lease_until < $1 \
             ORDER BY id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        if expired.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        let mut job_ids: Vec<String> = expired.iter().map(|(_, j)| j.clone()).collect();
        job_ids.sort();
        job_ids.dedup();
        let mut books = HashMap::new();
        let mut max_retries = HashMap::new();
        for j in Self::lock_jobs(&mut tx, &job_ids).await? {
            let book = j.job.book()?;
            max_retries.insert(j.job.id.clone(), j.max_retries);
            books.insert(j.job.id, book);
        }
        let before = books.clone();
        let ids: Vec<i64> = expired.iter().map(|(id, _)| *id).collect();
        // Still expired now that the jobs are locked; an item some heartbeat is extending right
        // now is skipped.
        let still: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT id, job_id, attempts FROM items WHERE id = ANY($1::bigint[]) \
             AND state = 'running' AND lease_until < $2 ORDER BY id FOR UPDATE SKIP LOCKED",
        )
        .bind(&ids)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let held: HashSet<i64> = still.iter().map(|(id, _, _)| *id).collect();
        // Each lost worker's items are completed on its behalf, through the same bookkeeping.
        let done: Vec<Completion> = still
            .into_iter()
            .map(|(item_id, job_id, attempts)| {
                let retries = max_retries.get(&job_id).copied().unwrap_or(0);
                Completion {
                    item_id,
                    target: rescue_target(attempts.max(0) as u32, retries.max(0) as u32, now),
                    job_id,
                }
            })
            .collect();
        let plan = plan_completions(done, &held, &mut books);
        Self::apply_plan(&mut tx, &plan, now).await?;
        Self::write_books(&mut tx, &before, &books, now).await?;
        tx.commit().await?;
        Ok(plan.report.applied as u64)
    }

    async fn job_controls(&self, ids: &[String]) -> Result<Vec<JobControl>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT id, state, pause_requested FROM jobs WHERE id = ANY($1::text[])",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, state, pause_requested)| {
                Ok(JobControl {
                    id,
                    state: state.parse()?,
                    pause_requested,
                })
            })
            .collect()
    }

    async fn expire_deadlines(&self, now: Millis) -> Result<u64, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE finished_at IS NULL AND deadline_at IS NOT NULL \
             AND deadline_at < $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut n = 0;
        for id in ids {
            let failed = self
                .control(&id, now, |b| {
                    b.finish_early(JobState::Failed, Some("deadline exceeded".into()))?;
                    Ok(ControlEffect::CancelUnstarted)
                })
                .await;
            match failed {
                Ok(_) => n += 1,
                // Finished (or deleted) meanwhile: nothing to do.
                Err(StoreError::Rule(_)) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    async fn purge_finished(&self, before: Millis) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin().await?;
        // Lock in id order like everyone else before the cascade takes the items.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1 \
             ORDER BY id FOR UPDATE",
        )
        .bind(before)
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            tx.rollback().await?;
            return Ok(ids);
        }
        Self::lock_running_items(&mut tx, &ids).await?;
        sqlx::query("DELETE FROM jobs WHERE id = ANY($1::text[])")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn results(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ResultRow>, StoreError> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT r.item_id, i.name, r.output::text FROM results AS r \
             JOIN items AS i ON i.id = r.item_id \
             WHERE r.job_id = $1 AND r.item_id > $2 ORDER BY r.item_id LIMIT $3",
        )
        .bind(job_id)
        .bind(after)
        .bind(limit.max(1) as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(item_id, name, output)| {
                Ok(ResultRow {
                    item_id,
                    name,
                    output: serde_json::from_str(&output)?,
                })
            })
            .collect()
    }

    async fn job_by_idempotency_key(
        &self,
        user: &str,
        key: &str,
        now: Millis,
    ) -> Result<Option<Job>, StoreError> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM jobs WHERE user_id = $1 AND idempotency_key = $2")
                .bind(user)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        match id {
            Some(id) => Self::job_on(&self.pool, &id, now).await,
            None => Ok(None),
        }
    }

    async fn claim_listing(
        &self,
        worker: &str,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Option<Listing>, StoreError> {
        // The candidate is locked with SKIP LOCKED: two listers racing never take the same job,
        // and one that finds the first candidate locked moves on to the next. A candidate that
        // another lister took (or sealed) between our snapshot and the lock is re-checked
        // against the conditions and skipped.
        let row: Option<(String, String, String, Option<String>, i64)> = sqlx::query_as(
            "UPDATE jobs SET lister_id = $1, lister_until = $2 \
             WHERE id = (SELECT id FROM jobs WHERE sealed = false AND finished_at IS NULL \
             AND (lister_until IS NULL OR lister_until < $3) \
             ORDER BY lister_until NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, user_id, source::text, total",
        )
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some((job_id, kind, user, source, listed)) = row else {
            return Ok(None);
        };
        let source = source.as_deref().map(serde_json::from_str).transpose()?;
        Ok(Some(Listing {
            job_id,
            kind: kind.parse()?,
            user,
            source: source.unwrap_or(serde_json::Value::Null),
            listed,
        }))
    }

    async fn add_items(
        &self,
        job_id: &str,
        worker: &str,
        items: Vec<NewItem>,
        lease_until: Millis,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // The job row is locked first, as everywhere: a cancel or a completion of this job
        // waits for the new items (and their counts) or runs entirely before them.
        let mut book = Self::listing_book(&mut tx, job_id, worker).await?;
        Self::insert_items(&mut tx, job_id, &items).await?;
        book.on_items_added(items.len() as i64);
        Self::write_book(&mut tx, job_id, &book, now, None).await?;
        sqlx::query("UPDATE jobs SET lister_until = $1 WHERE id = $2")
            .bind(lease_until)
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        Self::notify_work(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn seal_job(&self, job_id: &str, worker: &str, now: Millis) -> Result<Job, StoreError> {
        let mut tx = self.begin().await?;
        let mut book = Self::listing_book(&mut tx, job_id, worker).await?;
        book.sealed = true;
        if book.counts.total == 0 {
            book.finish_early(
                JobState::Failed,
                Some("the source contains no files".into()),
            )?;
        } else {
            book.settle();
        }
        Self::write_book(&mut tx, job_id, &book, now, None).await?;
        sqlx::query("UPDATE jobs SET lister_id = NULL, lister_until = NULL WHERE id = $1")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Self::job_on(&self.pool, job_id, now)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn fail_job(&self, job_id: &str, error: &str, now: Millis) -> Result<Job, StoreError> {
        let error = error.replace('\0', "\u{fffd}");
        self.control(job_id, now, move |b| {
            b.finish_early(JobState::Failed, Some(error))?;
            Ok(ControlEffect::CancelUnstarted)
        })
        .await
    }

    async fn create_token(
        &self,
        user: &str,
        hash: &str,
        label: Option<&str>,
        now: Millis,
    ) -> Result<TokenInfo, StoreError> {
        if [Some(user), Some(hash), label]
            .into_iter()
            .flatten()
            .any(|s| s.contains('\0'))
        {
            return Err(StoreError::Invalid(
                "a token's user, hash and label cannot contain a NUL character".into(),
            ));
        }
        let row: TokenRow = sqlx::query_as(
            "INSERT INTO tokens (id, user_id, hash, label, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, user_id, label, created_at, revoked_at",
        )
        .bind(token_id(hash))
        .bind(user)
        .bind(hash)
        .bind(label)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.into())
    }

    async fn token_user(&self, hash: &str) -> Result<Option<String>, StoreError> {
        if hash.contains('\0') {
            return Ok(None);
        }
        Ok(
            sqlx::query_scalar("SELECT user_id FROM tokens WHERE hash = $1 AND revoked_at IS NULL")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, user_id, label, created_at, revoked_at FROM tokens \
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(TokenInfo::from).collect())
    }

    async fn revoke_token(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        if id.contains('\0') {
            return Ok(false);
        }
        let n =
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(n > 0)
    }

    async fn put_document(&self, d: NewDocument, now: Millis) -> Result<String, StoreError> {
        let mut tx = self.begin().await?;
        // The item first, then the document: deleting a job locks its items before the
        // cascade reaches their documents (ON DELETE SET NULL), so taking them in the same
        // order cannot deadlock with it; two writes for one item queue here.
        sqlx::query("SELECT id FROM items WHERE id = $1 FOR NO KEY UPDATE")
            .bind(d.item_id)
            .execute(&mut *tx)
            .await?;
        let id: String = sqlx::query_scalar(
            "INSERT INTO documents (id, user_id, job_id, item_id, name, sha256, media_type, size, \
             pages, text, category, confidence, metadata, created_at, options_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15) \
             ON CONFLICT (item_id) DO UPDATE SET name = excluded.name, sha256 = excluded.sha256, \
             media_type = excluded.media_type, size = excluded.size, pages = excluded.pages, \
             text = excluded.text, category = excluded.category, \
             confidence = excluded.confidence, metadata = excluded.metadata, \
             options_key = excluded.options_key \
             RETURNING id",
        )
        .bind(format!("doc_{}", uuid::Uuid::now_v7().simple()))
        .bind(&d.user)
        .bind(&d.job_id)
        .bind(d.item_id)
        .bind(text_without_nul(&d.name))
        .bind(text_without_nul(&d.sha256))
        .bind(text_without_nul(&d.media_type))
        .bind(d.size)
        .bind(d.pages)
        .bind(text_without_nul(&d.text))
        .bind(d.category.as_deref().map(text_without_nul))
        .bind(d.confidence)
        .bind(json_text(&d.metadata))
        .bind(now)
        .bind(text_without_nul(&d.options_key))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE items SET document_id = $1 WHERE id = $2")
            .bind(&id)
            .bind(d.item_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn get_document(&self, id: &str) -> Result<Option<Document>, StoreError> {
        if id.contains('\0') {
            return Ok(None);
        }
        let row: Option<DocumentRow> =
            sqlx::query_as(&format!("{} WHERE id = $1", document_select()))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(DocumentRow::into_document).transpose()
    }

    async fn due_webhooks(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE jobs SET notify_next_at = $1 WHERE id = ANY(ARRAY(SELECT id FROM jobs \
             WHERE notify_state = 'pending' AND finished_at IS NOT NULL \
             AND COALESCE(notify_next_at, 0) <= $2 ORDER BY notify_next_at NULLS FIRST \
             LIMIT $3 FOR UPDATE SKIP LOCKED)) RETURNING id",
        )
        .bind(lease_until)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut jobs = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(job) = Self::job_on(&self.pool, &id, now).await? {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    async fn record_webhook(
        &self,
        job_id: &str,
        attempt: docket_core::WebhookAttempt,
        next: WebhookNext,
    ) -> Result<(), StoreError> {
        let (state, next_at) = next.columns();
        sqlx::query(
            "UPDATE jobs SET notify_attempts = notify_attempts || jsonb_build_array($1::jsonb), \
             notify_state = $2, notify_next_at = $3 WHERE id = $4 AND notify_state = 'pending'",
        )
        .bind(serde_json::to_string(&attempt)?)
        .bind(state)
        .bind(next_at)
        .bind(job_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_processed(
        &self,
        user: &str,
        sha256: &str,
        options_key: &str,
    ) -> Result<Option<Document>, StoreError> {
        let row: Option<DocumentRow> = sqlx::query_as(&format!(
            "{} WHERE user_id = $1 AND sha256 = $2 \
             AND options_key = $3 ORDER BY created_at DESC, id DESC LIMIT 1",
            document_select()
        ))
        .bind(user)
        .bind(sha256)
        .bind(options_key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(DocumentRow::into_document).transpose()
    }

    async fn list_categories(&self, user: &str) -> Result<Vec<Category>, StoreError> {
        let rows: Vec<CategoryRow> = sqlx::query_as(
            "SELECT id, name, algorithm, pattern, case_insensitive, created_at, updated_at FROM categories WHERE user_id = $1 ORDER BY id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(CategoryRow::into_category).collect())
    }

    async fn put_category(
        &self,
        user: &str,
        id: Option<&str>,
        rule: CategoryRule,
        now: Millis,
    ) -> Result<Category, StoreError> {
        let mut tx = self.begin().await?;
        let taken: Option<String> =
            sqlx::query_scalar("SELECT id FROM categories WHERE user_id = $1 AND name = $2")
                .bind(user)
                .bind(&rule.name)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() && taken.as_deref() != id {
            return Err(StoreError::Conflict(format!(
                "a category named `{}` exists already",
                rule.name
            )));
        }
        let row: Option<CategoryRow> = match id {
            None => sqlx::query_as(
                "INSERT INTO categories (id, user_id, name, algorithm, pattern, case_insensitive, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 RETURNING id, name, algorithm, pattern, case_insensitive, created_at, updated_at",
            )
            .bind(format!("cat_{}", uuid::Uuid::now_v7().simple()))
            .bind(user)
            .bind(&rule.name)
            .bind(&rule.algorithm)
            .bind(&rule.pattern)
            .bind(rule.case_insensitive)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?,
            Some(id) => {
                sqlx::query_as(
                    "UPDATE categories SET name = $3, algorithm = $4, pattern = $5, \
                 case_insensitive = $6, updated_at = $7 WHERE id = $1 AND user_id = $2 \
                 RETURNING id, name, algorithm, pattern, case_insensitive, created_at, updated_at",
                )
                .bind(id)
                .bind(user)
                .bind(&rule.name)
                .bind(&rule.algorithm)
                .bind(&rule.pattern)
                .bind(rule.case_insensitive)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
            }
        };
        let row = row.ok_or(StoreError::NotFound)?;
        sqlx::query("INSERT INTO classifiers (user_id) VALUES ($1) ON CONFLICT (user_id) DO UPDATE SET labels_version = classifiers.labels_version + 1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.into_category())
    }

    async fn delete_category(&self, user: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM categories WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if deleted {
            sqlx::query("INSERT INTO classifiers (user_id) VALUES ($1) ON CONFLICT (user_id) DO UPDATE SET labels_version = classifiers.labels_version + 1")
                .bind(user)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn label_document(
        &self,
        user: &str,
        id: &str,
        category: Option<&str>,
    ) -> Result<Document, StoreError> {
        let mut tx = self.begin().await?;
        let row: Option<DocumentRow> = sqlx::query_as(&format!(
            "UPDATE documents SET category = $3, confidence = CASE WHEN $3 IS NULL THEN NULL ELSE 1.0 END, \
             labelled = CASE WHEN $3 IS NULL THEN false ELSE true END \
             WHERE id = $1 AND user_id = $2 RETURNING {}",
            document_returning()
        ))
        .bind(id)
        .bind(user)
        .bind(category)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        sqlx::query("INSERT INTO classifiers (user_id) VALUES ($1) ON CONFLICT (user_id) DO UPDATE SET labels_version = classifiers.labels_version + 1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        row.into_document()
    }

    async fn classify_document(
        &self,
        id: &str,
        category: Option<&str>,
        confidence: Option<f64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE documents SET category = $2, confidence = $3 \
             WHERE id = $1 AND labelled = false",
        )
        .bind(id)
        .bind(category)
        .bind(confidence)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn document_ids(
        &self,
        user: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM documents WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(user)
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn training_due(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT user_id, labels_version FROM classifiers \
             WHERE trained_version < labels_version ORDER BY user_id LIMIT 100",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn labelled_texts(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT text, category FROM documents WHERE user_id = $1 AND labelled = true \
             AND category IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(user)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn save_model(
        &self,
        user: &str,
        labels_version: i64,
        model: Option<String>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE classifiers SET model = $3, trained_version = $2, trained_at = $4 \
             WHERE user_id = $1 AND trained_version < $2",
        )
        .bind(user)
        .bind(labels_version)
        .bind(model)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_model(&self, user: &str) -> Result<Option<StoredModel>, StoreError> {
        let row: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT trained_version, model FROM classifiers WHERE user_id = $1 AND trained_version > 0",
        )
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(labels_version, model)| StoredModel {
            labels_version,
            model,
        }))
    }

    async fn job_stats(&self) -> Result<Vec<(JobState, i64, docket_core::Counts)>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT state, count(*)::int8, sum(total)::int8, sum(pending)::int8, \
             sum(running)::int8, sum(retrying)::int8, sum(succeeded)::int8, sum(failed)::int8, \
             sum(cancelled)::int8 FROM jobs GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        stats_rows(rows)
    }

    async fn search(&self, q: &SearchQuery) -> Result<SearchResults, StoreError> {
        let terms = search_terms(&q.q);
        if terms.is_empty() {
            return Ok(SearchResults {
                total: 0,
                hits: Vec::new(),
            });
        }
        // Every word must match; words are alphanumeric, so nothing in them is tsquery syntax.
        let matching = terms.join(" & ");
        let filter = "d.search @@ q.query AND d.user_id = $2 \
                      AND ($3::text IS NULL OR d.category = $3) AND ($4::text IS NULL OR d.job_id = $4)";
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM documents AS d, to_tsquery('english', $1) AS q(query) WHERE {filter}"
        ))
        .bind(&matching)
        .bind(&q.user)
        .bind(q.category.as_deref())
        .bind(q.job_id.as_deref())
        .fetch_one(&self.pool)
        .await?;
        let rows: Vec<(String, String, f64, String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT d.id, d.name, ts_rank_cd(d.search, q.query)::float8 AS score, \
             ts_headline('english', d.text, q.query, \
                 'StartSel=<mark>, StopSel=</mark>, MaxFragments=1, MaxWords=24, MinWords=8'), \
             d.category \
             FROM documents AS d, to_tsquery('english', $1) AS q(query) WHERE {filter} \
             ORDER BY score DESC, d.id LIMIT $5 OFFSET $6"
        ))
        .bind(&matching)
        .bind(&q.user)
        .bind(q.category.as_deref())
        .bind(q.job_id.as_deref())
        .bind(page_limit(q.limit) as i64)
        .bind(q.offset as i64)
        .fetch_all(&self.pool)
        .await?;
        let hits = rows
            .into_iter()
            .map(|(document_id, name, score, snippet, category)| SearchHit {
                document_id,
                name,
                score: (score * 1000.0).round() / 1000.0,
                snippet,
                category,
            })
            .collect();
        Ok(SearchResults { total, hits })
    }

    async fn work_signal(&self) -> Result<Option<Arc<Notify>>, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(WORK_CHANNEL).await?;
        let signal = Arc::new(Notify::new());
        let weak = Arc::downgrade(&signal);
        tokio::spawn(async move {
            loop {
                // Wake now and then to notice that the engine is gone.
                let received = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
                let Some(signal) = weak.upgrade() else { return };
                match received {
                    Ok(Ok(_)) => signal.notify_one(),
                    // The listener reconnects on the next recv; engines poll meanwhile.
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(_) => {}
                }
            }
        });
        Ok(Some(signal))
    }

    async fn probe_job_transition(&self, from: JobState, to: JobState) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let id = JobId::generate().to_string();
        let attempt = async {
            sqlx::query(
                "INSERT INTO jobs (id, user_id, kind, state, pause_reason, created_at, \
                 updated_at, finished_at, total, pending, running, retrying, succeeded, failed, \
                 cancelled, max_retries, auto_pause_after, item_timeout_ms, options) \
                 VALUES ($1, 'probe', 'noop', $2::text, \
                 CASE WHEN $2::text = 'paused' THEN 'user' END, 0, 0, \
                 CASE WHEN $2::text IN ('completed', 'failed', 'cancelled') THEN 0 END, \
                 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, '{}')",
            )
            .bind(&id)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?;
            // A refused update aborts the transaction; it is rolled back below either way.
            let update = sqlx::query(
                "UPDATE jobs SET state = $1::text, \
                 pause_reason = CASE WHEN $1::text = 'paused' THEN 'user' END, \
                 finished_at = CASE WHEN $1::text IN ('completed', 'failed', 'cancelled') \
                 THEN 1 END WHERE id = $2",
            )
            .bind(to.as_str())
            .bind(&id)
            .execute(&mut *tx)
            .await;
            match update {
                Ok(_) => Ok(true),
                Err(e) if refused_by_schema(&e) => Ok(false),
                Err(e) => Err(StoreError::from(e)),
            }
        }
        .await;
        tx.rollback().await?;
        attempt
    }

    async fn probe_item_transition(
        &self,
        from: ItemState,
        to: ItemState,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let id = JobId::generate().to_string();
        let attempt = async {
            sqlx::query(
                "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, total, \
                 pending, running, retrying, succeeded, failed, cancelled, max_retries, \
                 auto_pause_after, item_timeout_ms, options) \
                 VALUES ($1, 'probe', 'noop', 'running', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, '{}')",
            )
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            let item: i64 = sqlx::query_scalar(
                "INSERT INTO items (job_id, name, state, worker_id, lease_until, next_attempt_at) \
                 VALUES ($1, 'probe', $2::text, CASE WHEN $2::text = 'running' THEN 'w' END, \
                 CASE WHEN $2::text = 'running' THEN 1 END, \
                 CASE WHEN $2::text = 'retrying' THEN 1 END) RETURNING id",
            )
            .bind(&id)
            .bind(from.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let update = sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = $1::text, \
                 worker_id = CASE WHEN $1::text = 'running' THEN 'w' END, \
                 lease_until = CASE WHEN $1::text = 'running' THEN 1 END, \
                 next_attempt_at = CASE WHEN $1::text = 'retrying' THEN 1 END WHERE id = $2",
            )
            .bind(to.as_str())
            .bind(item)
            .execute(&mut *tx)
            .await;
            match update {
                Ok(_) => Ok(true),
                Err(e) if refused_by_schema(&e) => Ok(false),
                Err(e) => Err(StoreError::from(e)),
            }
        }
        .await;
        tx.rollback().await?;
        attempt
    }
}

impl PgStore {
    /// The job an earlier submit with the same idempotency key created.
    async fn existing(&self, id: &str, now: Millis) -> Result<Created, StoreError> {
        let job = Self::job_on(&self.pool, id, now)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Created {
            job,
            created: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{copy_text, json_text};
    use serde_json::json;

    #[test]
    fn nul_characters_are_replaced_in_reported_json() {
        assert_eq!(json_text(&json!({"a": "x"})), r#"{"a":"x"}"#);
        // An escaped backslash followed by `u0000` is not a NUL.
        assert_eq!(json_text(&json!({"a": "\\u0000"})), r#"{"a":"\\u0000"}"#);
        assert_eq!(
            json_text(&json!({"a\u{0}": ["x\u{0}y", 1]})),
            json!({"a\u{fffd}": ["x\u{fffd}y", 1]}).to_string()
        );
    }

    #[test]
    fn copy_text_escapes_the_special_bytes() {
        let mut buf = Vec::new();
        copy_text(&mut buf, b"a\\b\tc\nd\re \"\\u00e9\"");
        assert_eq!(buf, b"a\\\\b\\tc\\nd\\re \"\\\\u00e9\"".to_vec());
    }
}
