//! The embedded backend: one SQLite file in WAL mode. All writes go through a single
//! connection (SQLite has one writer anyway) with `BEGIN IMMEDIATE`, so writers queue in
//! process instead of failing with SQLITE_BUSY; reads use a small pool of their own.
//! Batches cross the boundary as one JSON array bound to a single statement (`json_each`), so
//! a claim or a completion of a thousand items costs a handful of statements, not thousands.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use docket_core::{
    Document, Item, ItemState, Job, JobBook, JobId, JobState, Millis, PauseReason, Stage,
};
use serde_json::json;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{FromRow, Row, Sqlite, Transaction};

use crate::plan::{fair_shares, plan_completions, rescue_target, ClaimCandidate};
use crate::row::stats_rows;
use crate::row::{
    page_limit, token_id, CategoryRow, DocumentRow, ErrorRow, ItemRow, JobDetail, JobRow, TokenRow,
    DOCUMENT_COLUMNS, ITEM_COLUMNS, JOB_COLUMNS, JOB_DETAIL_COLUMNS,
};
use crate::types::search_terms;
use crate::{
    Category, CategoryRule, ChangeCursor, Claimed, CompleteReport, Completion, Created, ItemChange,
    ItemQuery, JobControl, JobQuery, Listing, NewDocument, NewItem, NewJob, Page, ProgressUpdate,
    ResultRow, SearchHit, SearchQuery, SearchResults, Store, StoreError, StoredModel, TokenInfo,
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
            let batch: Vec<serde_json::Value> =
                chunk.iter().map(|i| json!([i.name, i.payload])).collect();
            sqlx::query(
                "INSERT INTO items (job_id, name, payload, state) \
                 SELECT ?1, value ->> '$[0]', value -> '$[1]', 'pending' FROM json_each(?2)",
            )
            .bind(id)
            .bind(serde_json::Value::Array(batch).to_string())
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
            "SELECT {JOB_COLUMNS}, {JOB_DETAIL_COLUMNS} FROM jobs WHERE id = ?"
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

    async fn control(
        &self,
        id: &str,
        now: Millis,
        apply: impl FnOnce(&mut JobBook) -> Result<ControlEffect, StoreError> + Send,
    ) -> Result<Job, StoreError> {
        let mut tx = self.begin().await?;
        let (_, mut book) = Self::load_book(&mut tx, id)
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
                    "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'pending', failure_streak = NULL, attempts = 0, \
                     stage = 'queued', progress = 0 WHERE id IN (SELECT id FROM items \
                     INDEXED BY items_failed_streak WHERE job_id = ? AND state = 'failed' \
                     AND failure_streak = ?)",
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
        Self::write_book(&mut tx, id, &book, now).await?;
        tx.commit().await?;
        Self::job_on(&self.reader, id, now)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Applies completions of items `worker` holds; with `expired_before`, only of those whose
    /// lease ended before it (a rescue must not take an item whose lease was just renewed).
    async fn complete_where(
        &self,
        worker: &str,
        done: Vec<Completion>,
        now: Millis,
        expired_before: Option<Millis>,
    ) -> Result<CompleteReport, StoreError> {
        if done.is_empty() {
            return Ok(CompleteReport::default());
        }
        let mut tx = self.begin().await?;
        let mut job_ids: Vec<String> = done.iter().map(|c| c.job_id.clone()).collect();
        job_ids.sort();
        job_ids.dedup();
        let mut books = HashMap::new();
        for id in &job_ids {
            if let Some((_, book)) = Self::load_book(&mut tx, id).await? {
                books.insert(id.clone(), book);
            }
        }
        let held: String = sqlx::query_scalar(
            "SELECT json_group_array(id) FROM items WHERE id IN (SELECT value FROM json_each(?1)) \
             AND state = 'running' AND worker_id = ?2 AND (?3 IS NULL OR lease_until < ?3)",
        )
        .bind(ids_json(done.iter().map(|c| c.item_id)))
        .bind(worker)
        .bind(expired_before)
        .fetch_one(&mut *tx)
        .await?;
        let held: HashSet<i64> = serde_json::from_str::<Vec<i64>>(&held)?
            .into_iter()
            .collect();
        let plan = plan_completions(done, &held, &mut books);
        if !plan.succeeded.is_empty() {
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'succeeded', stage = 'done', progress = 100, \
                 worker_id = NULL, lease_until = NULL, checkpoint = NULL \
                 WHERE id IN (SELECT value FROM json_each(?))",
            )
            .bind(ids_json(plan.succeeded.iter().map(|s| s.item_id)))
            .execute(&mut *tx)
            .await?;
            let rows: Vec<serde_json::Value> = plan
                .succeeded
                .iter()
                .map(|s| json!([s.item_id, s.job_id, s.output]))
                .collect();
            sqlx::query(
                "INSERT INTO results (item_id, job_id, output, created_at) \
                 SELECT value ->> '$[0]', value ->> '$[1]', value -> '$[2]', ?1 \
                 FROM json_each(?2) WHERE true \
                 ON CONFLICT (item_id) DO UPDATE SET output = excluded.output",
            )
            .bind(now)
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut *tx)
            .await?;
        }
        if !plan.cancelled.is_empty() {
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'cancelled', worker_id = NULL, lease_until = NULL \
                 WHERE id IN (SELECT value FROM json_each(?))",
            )
            .bind(ids_json(plan.cancelled.iter().copied()))
            .execute(&mut *tx)
            .await?;
        }
        for f in &plan.failed {
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'failed', worker_id = NULL, lease_until = NULL, \
                 failure_streak = ? WHERE id = ?",
            )
            .bind(f.streak)
            .bind(f.item_id)
            .execute(&mut *tx)
            .await?;
        }
        for r in &plan.retrying {
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'retrying', worker_id = NULL, lease_until = NULL, \
                 next_attempt_at = ? WHERE id = ?",
            )
            .bind(r.next_attempt_at)
            .bind(r.item_id)
            .execute(&mut *tx)
            .await?;
        }
        for r in &plan.requeued {
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'pending', worker_id = NULL, lease_until = NULL, \
                 stage = ?, progress = ?, checkpoint = coalesce(?, checkpoint), attempts = max(attempts - ?, 0) \
                 WHERE id = ?",
            )
            .bind(r.stage.as_str())
            .bind(r.progress)
            .bind(r.checkpoint.as_ref().map(|c| c.to_string()))
            .bind(i64::from(r.refund_attempt))
            .bind(r.item_id)
            .execute(&mut *tx)
            .await?;
        }
        for (item_id, e) in &plan.errors {
            sqlx::query(
                "INSERT INTO item_errors (item_id, attempt, at, message, transient) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(item_id)
            .bind(e.attempt as i64)
            .bind(e.at)
            .bind(&e.message)
            .bind(e.transient)
            .execute(&mut *tx)
            .await?;
        }
        for (id, book) in books.iter_mut() {
            book.settle();
            Self::write_book(&mut tx, id, book, now).await?;
        }
        tx.commit().await?;
        Ok(plan.report)
    }
}

enum ControlEffect {
    None,
    CancelUnstarted,
    Requeue(i64),
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

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn create_job(&self, new: NewJob, now: Millis) -> Result<Created, StoreError> {
        if new.items.is_empty() && new.source.is_none() {
            return Err(StoreError::Invalid("a job needs at least one item".into()));
        }
        new.options.validate()?;
        let mut tx = self.begin().await?;
        if let Some(key) = &new.idempotency_key {
            let existing: Option<String> =
                sqlx::query_scalar("SELECT id FROM jobs WHERE user_id = ? AND idempotency_key = ?")
                    .bind(&new.user)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(id) = existing {
                tx.rollback().await?;
                let job = Self::job_on(&self.reader, &id, now)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                return Ok(Created {
                    job,
                    created: false,
                });
            }
        }
        let id = new
            .id
            .clone()
            .unwrap_or_else(|| JobId::generate().to_string());
        let total = new.items.len() as i64;
        let o = &new.options;
        sqlx::query(
            "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, deadline_at, \
             total, pending, running, retrying, succeeded, failed, cancelled, max_workers, \
             max_retries, auto_pause_after, item_timeout_ms, options, idempotency_key, source, \
             sealed, notify_url, notify_state) \
             VALUES (?1, ?2, ?3, 'queued', ?4, ?4, ?5, ?6, ?6, 0, 0, 0, 0, 0, ?7, ?8, ?9, ?10, ?11, \
             ?12, ?13, ?14, ?15, CASE WHEN ?15 IS NOT NULL THEN 'pending' END)",
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
        .execute(&mut *tx)
        .await?;
        Self::insert_items(&mut tx, &id, &new.items).await?;
        tx.commit().await?;
        let job = Self::job_on(&self.reader, &id, now)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Created { job, created: true })
    }

    async fn get_job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError> {
        Self::job_on(&self.reader, id, now).await
    }

    async fn list_jobs(&self, q: &JobQuery, now: Millis) -> Result<Page<Job>, StoreError> {
        let limit = page_limit(q.limit);
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS}, {JOB_DETAIL_COLUMNS} FROM jobs \
             WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR state = ?2) \
             AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR id < ?4) \
             AND (?6 IS NULL OR finished_at IS NULL OR updated_at > ?6) \
             ORDER BY id DESC LIMIT ?5"
        ))
        .bind(q.user.as_deref())
        .bind(q.state.map(JobState::as_str))
        .bind(q.kind.map(|k| k.as_str()))
        .bind(q.cursor.as_deref())
        .bind(limit as i64 + 1)
        .bind(q.live_since)
        .fetch_all(&self.reader)
        .await?;
        let more = rows.len() > limit;
        let mut jobs = Vec::with_capacity(limit);
        for row in rows.iter().take(limit) {
            jobs.push(Self::finish_job(&self.reader, row, now).await?);
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
            "SELECT {ITEM_COLUMNS} FROM items INDEXED BY items_by_job \
             WHERE job_id = ?1 AND (?2 IS NULL OR state = ?2) AND id > ?3 ORDER BY id LIMIT ?4"
        ))
        .bind(job_id)
        .bind(q.state.map(ItemState::as_str))
        .bind(q.after.unwrap_or(0))
        .bind(limit as i64 + 1)
        .fetch_all(&self.reader)
        .await?;
        let more = rows.len() > limit;
        let rows: Vec<ItemRow> = rows.into_iter().take(limit).collect();
        let errors: Vec<ErrorRow> = sqlx::query_as(
            "SELECT item_id, attempt, at, message, transient FROM item_errors \
             WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        )
        .bind(ids_json(rows.iter().map(|r| r.id)))
        .fetch_all(&self.reader)
        .await?;
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
            "SELECT event_seq, {ITEM_COLUMNS} FROM items INDEXED BY items_changes \
             WHERE job_id = ?1 AND event_seq > 0 AND (event_seq, id) > (?2, ?3) \
             ORDER BY event_seq, id LIMIT ?4"
        ))
        .bind(job_id)
        .bind(after.seq)
        .bind(after.item_id)
        .bind(limit as i64)
        .fetch_all(&self.reader)
        .await?
        .into_iter()
        .map(|row| Ok((row.try_get("event_seq")?, ItemRow::from_row(&row)?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let errors: Vec<ErrorRow> = sqlx::query_as(
            "SELECT item_id, attempt, at, message, transient FROM item_errors \
             WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        )
        .bind(ids_json(rows.iter().map(|(_, r)| r.id)))
        .fetch_all(&self.reader)
        .await?;
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
        let (_, book) = Self::load_book(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !book.state.is_finished() {
            return Err(docket_core::CoreError::IllegalControl {
                action: "delete",
                state: book.state,
            }
            .into());
        }
        sqlx::query("DELETE FROM jobs WHERE id = ?")
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
        let mut tx = self.begin().await?;
        let jobs: Vec<ClaimJobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS}, max_workers, max_retries, item_timeout_ms \
             FROM jobs INDEXED BY jobs_runnable \
             WHERE state IN ('queued', 'running') AND pause_requested = 0 \
             ORDER BY last_claim_at LIMIT 64"
        ))
        .fetch_all(&mut *tx)
        .await?;
        let candidates: Vec<ClaimCandidate> = jobs
            .iter()
            .map(|j| ClaimCandidate {
                headroom: j.max_workers.map_or(i64::MAX, |m| m - j.job.running),
                waiting: j.job.pending + j.job.retrying,
            })
            .collect();
        let shares = fair_shares(&candidates, limit);
        let mut claimed = Vec::new();
        for (j, share) in jobs.iter().zip(shares) {
            if share == 0 {
                continue;
            }
            let kind = j.job.kind.parse()?;
            // Rows cross from SQLite's thread one by one, which is slow in bulk, so each step
            // answers a single JSON row instead: ids to take, then the taken items.
            let mut got_retrying = 0;
            let mut ids: Vec<i64> = Vec::new();
            if j.job.retrying > 0 {
                let due: String = sqlx::query_scalar(
                    "SELECT json_group_array(id) FROM (SELECT id FROM items INDEXED BY items_retrying \
                     WHERE job_id = ?1 AND state = 'retrying' AND next_attempt_at <= ?2 \
                     ORDER BY next_attempt_at LIMIT ?3)",
                )
                .bind(&j.job.id)
                .bind(now)
                .bind(share as i64)
                .fetch_one(&mut *tx)
                .await?;
                ids = serde_json::from_str(&due)?;
                got_retrying = ids.len();
            }
            let mut got_pending = 0;
            if ids.len() < share && j.job.pending > 0 {
                let pending: String = sqlx::query_scalar(
                    "SELECT json_group_array(id) FROM (SELECT id FROM items INDEXED BY items_pending \
                     WHERE job_id = ?1 AND state = 'pending' ORDER BY id LIMIT ?2)",
                )
                .bind(&j.job.id)
                .bind((share - ids.len()) as i64)
                .fetch_one(&mut *tx)
                .await?;
                let pending: Vec<i64> = serde_json::from_str(&pending)?;
                got_pending = pending.len();
                ids.extend(pending);
            }
            if ids.is_empty() {
                continue;
            }
            let ids_text = ids_json(ids.iter().copied());
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'running', attempts = attempts + 1, worker_id = ?1, \
                 lease_until = ?2, next_attempt_at = NULL WHERE id IN (SELECT value FROM json_each(?3))",
            )
            .bind(worker)
            .bind(lease_until)
            .bind(&ids_text)
            .execute(&mut *tx)
            .await?;
            let taken: String = sqlx::query_scalar(
                "SELECT json_group_array(json_array(id, name, json(payload), attempts, stage, \
                 json(checkpoint))) FROM items WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            )
            .bind(&ids_text)
            .fetch_one(&mut *tx)
            .await?;
            let rows: Vec<ClaimedRow> = serde_json::from_str(&taken)?;
            if rows.is_empty() {
                continue;
            }
            let mut book = j.job.book()?;
            book.on_claimed(got_pending as i64, got_retrying as i64);
            Self::write_book_claimed(&mut tx, &j.job.id, &book, now, Some(now)).await?;
            let mut rows = rows;
            rows.sort_by_key(|r| r.0);
            for (id, name, payload, attempts, stage, checkpoint) in rows {
                claimed.push(Claimed {
                    item_id: id,
                    job_id: j.job.id.clone(),
                    user: j.job.user_id.clone(),
                    kind,
                    name,
                    payload,
                    attempts: attempts.max(0) as u32,
                    max_retries: j.max_retries.max(0) as u32,
                    timeout_ms: j.item_timeout_ms,
                    stage: Stage::parse(&stage).unwrap_or(Stage::Queued),
                    checkpoint,
                });
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn complete(
        &self,
        worker: &str,
        done: Vec<Completion>,
        now: Millis,
    ) -> Result<CompleteReport, StoreError> {
        self.complete_where(worker, done, now, None).await
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
        let updates: Vec<serde_json::Value> = held
            .iter()
            .map(|u| json!([u.item_id, u.stage.as_str(), u.progress.clamp(0.0, 100.0)]))
            .collect();
        let mut tx = self.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE items SET lease_until = ?1, stage = u.stage, progress = u.progress \
             FROM (SELECT value ->> '$[0]' AS id, value ->> '$[1]' AS stage, \
                          value ->> '$[2]' AS progress FROM json_each(?2)) AS u \
             WHERE items.id = u.id AND items.state = 'running' AND items.worker_id = ?3 \
             RETURNING items.id",
        )
        .bind(lease_until)
        .bind(serde_json::Value::Array(updates).to_string())
        .bind(worker)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn save_checkpoint(
        &self,
        worker: &str,
        item_id: i64,
        stage: docket_core::Stage,
        checkpoint: serde_json::Value,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let saved = sqlx::query(
            "UPDATE items SET stage = ?1, checkpoint = ?2 \
             WHERE id = ?3 AND state = 'running' AND worker_id = ?4",
        )
        .bind(stage.as_str())
        .bind(checkpoint.to_string())
        .bind(item_id)
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(saved == 1)
    }

    async fn rescue_expired(&self, now: Millis) -> Result<u64, StoreError> {
        let expired: Vec<(i64, String, i64, i64, String)> = sqlx::query_as(
            "SELECT i.id, i.job_id, i.attempts, j.max_retries, i.worker_id FROM items AS i \
             INDEXED BY items_running JOIN jobs AS j ON j.id = i.job_id \
             WHERE i.state = 'running' AND i.lease_until < ? ORDER BY i.id",
        )
        .bind(now)
        .fetch_all(&self.reader)
        .await?;
        // Each lost worker's items are completed on its behalf, through the same bookkeeping,
        // re-checking the lease inside the transaction that applies it.
        let mut by_worker: HashMap<String, Vec<Completion>> = HashMap::new();
        for (id, job, attempts, max_retries, worker) in expired {
            by_worker.entry(worker).or_default().push(Completion {
                item_id: id,
                job_id: job,
                target: rescue_target(attempts as u32, max_retries as u32, now),
            });
        }
        let mut rescued = 0;
        for (worker, done) in by_worker {
            rescued += self
                .complete_where(&worker, done, now, Some(now))
                .await?
                .applied as u64;
        }
        Ok(rescued)
    }

    async fn job_controls(&self, ids: &[String]) -> Result<Vec<JobControl>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT id, state, pause_requested FROM jobs WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(serde_json::to_string(ids)?)
        .fetch_all(&self.reader)
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
             AND deadline_at < ?",
        )
        .bind(now)
        .fetch_all(&self.reader)
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
                // Finished meanwhile: nothing to do.
                Err(StoreError::Rule(_)) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    async fn purge_finished(&self, before: Millis) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ? RETURNING id",
        )
        .bind(before)
        .fetch_all(&mut *tx)
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
            "SELECT r.item_id, i.name, r.output FROM results AS r JOIN items AS i ON i.id = r.item_id \
             WHERE r.job_id = ? AND r.item_id > ? ORDER BY r.item_id LIMIT ?",
        )
        .bind(job_id)
        .bind(after)
        .bind(limit.max(1) as i64)
        .fetch_all(&self.reader)
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
            sqlx::query_scalar("SELECT id FROM jobs WHERE user_id = ? AND idempotency_key = ?")
                .bind(user)
                .bind(key)
                .fetch_optional(&self.reader)
                .await?;
        match id {
            Some(id) => Self::job_on(&self.reader, &id, now).await,
            None => Ok(None),
        }
    }

    async fn claim_listing(
        &self,
        worker: &str,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Option<Listing>, StoreError> {
        let mut tx = self.begin().await?;
        let row: Option<(String, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT id, kind, user_id, source, total FROM jobs INDEXED BY jobs_unsealed \
             WHERE sealed = 0 AND finished_at IS NULL \
             AND (lister_until IS NULL OR lister_until < ?) ORDER BY lister_until LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((job_id, kind, user, source, listed)) = row else {
            return Ok(None);
        };
        sqlx::query("UPDATE jobs SET lister_id = ?, lister_until = ? WHERE id = ?")
            .bind(worker)
            .bind(lease_until)
            .bind(&job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
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
        let mut book = Self::listing_book(&mut tx, job_id, worker).await?;
        Self::insert_items(&mut tx, job_id, &items).await?;
        book.on_items_added(items.len() as i64);
        Self::write_book(&mut tx, job_id, &book, now).await?;
        sqlx::query("UPDATE jobs SET lister_until = ? WHERE id = ?")
            .bind(lease_until)
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
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
        Self::write_book(&mut tx, job_id, &book, now).await?;
        sqlx::query("UPDATE jobs SET lister_id = NULL, lister_until = NULL WHERE id = ?")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Self::job_on(&self.reader, job_id, now)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn fail_job(&self, job_id: &str, error: &str, now: Millis) -> Result<Job, StoreError> {
        let error = error.to_string();
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
        let mut tx = self.begin().await?;
        let row: TokenRow = sqlx::query_as(
            "INSERT INTO tokens (id, user_id, hash, label, created_at) VALUES (?, ?, ?, ?, ?) \
             RETURNING id, user_id, label, created_at, revoked_at",
        )
        .bind(token_id(hash))
        .bind(user)
        .bind(hash)
        .bind(label)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn token_user(&self, hash: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT user_id FROM tokens WHERE hash = ? AND revoked_at IS NULL")
                .bind(hash)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, user_id, label, created_at, revoked_at FROM tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().map(TokenInfo::from).collect())
    }

    async fn revoke_token(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn put_document(&self, d: NewDocument, now: Millis) -> Result<String, StoreError> {
        let mut tx = self.begin().await?;
        let id: String = sqlx::query_scalar(
            "INSERT INTO documents (id, user_id, job_id, item_id, name, sha256, media_type, size, \
             pages, text, category, confidence, metadata, created_at, options_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
             ON CONFLICT (item_id) DO UPDATE SET name = excluded.name, sha256 = excluded.sha256, \
             media_type = excluded.media_type, size = excluded.size, pages = excluded.pages, \
             text = excluded.text, category = excluded.category, \
             confidence = excluded.confidence, metadata = excluded.metadata, \
             options_key = excluded.options_key \
             RETURNING id",
        )
        .bind(format!("doc_{}", uuid_simple()))
        .bind(&d.user)
        .bind(&d.job_id)
        .bind(d.item_id)
        .bind(&d.name)
        .bind(&d.sha256)
        .bind(&d.media_type)
        .bind(d.size)
        .bind(d.pages)
        .bind(&d.text)
        .bind(d.category.as_deref())
        .bind(d.confidence)
        .bind(d.metadata.to_string())
        .bind(now)
        .bind(&d.options_key)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE items SET document_id = ? WHERE id = ?")
            .bind(&id)
            .bind(d.item_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn get_document(&self, id: &str) -> Result<Option<Document>, StoreError> {
        let row: Option<DocumentRow> = sqlx::query_as(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.map(DocumentRow::into_document).transpose()
    }

    async fn due_webhooks(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let mut tx = self.begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE jobs SET notify_next_at = ?1 WHERE id IN (SELECT id FROM jobs \
             WHERE notify_state = 'pending' AND finished_at IS NOT NULL \
             AND COALESCE(notify_next_at, 0) <= ?2 ORDER BY notify_next_at LIMIT ?3) \
             RETURNING id",
        )
        .bind(lease_until)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut jobs = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(job) = Self::job_on(&self.reader, &id, now).await? {
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
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE jobs SET notify_attempts = json_insert(notify_attempts, '$[#]', json(?1)), \
             notify_state = ?2, notify_next_at = ?3 WHERE id = ?4 AND notify_state = 'pending'",
        )
        .bind(serde_json::to_string(&attempt)?)
        .bind(state)
        .bind(next_at)
        .bind(job_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_processed(
        &self,
        user: &str,
        sha256: &str,
        options_key: &str,
    ) -> Result<Option<Document>, StoreError> {
        let row: Option<DocumentRow> = sqlx::query_as(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE user_id = ?1 AND sha256 = ?2 \
             AND options_key = ?3 ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(user)
        .bind(sha256)
        .bind(options_key)
        .fetch_optional(&self.reader)
        .await?;
        row.map(DocumentRow::into_document).transpose()
    }

    async fn list_categories(&self, user: &str) -> Result<Vec<Category>, StoreError> {
        let rows: Vec<CategoryRow> = sqlx::query_as(
            "SELECT id, name, algorithm, pattern, case_insensitive, created_at, updated_at FROM categories WHERE user_id = ?1 ORDER BY id",
        )
        .bind(user)
        .fetch_all(&self.reader)
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
            sqlx::query_scalar("SELECT id FROM categories WHERE user_id = ?1 AND name = ?2")
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
                 created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) \
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
                    "UPDATE categories SET name = ?3, algorithm = ?4, pattern = ?5, \
                 case_insensitive = ?6, updated_at = ?7 WHERE id = ?1 AND user_id = ?2 \
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
        sqlx::query("INSERT INTO classifiers (user_id) VALUES (?1) ON CONFLICT (user_id) DO UPDATE SET labels_version = classifiers.labels_version + 1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.into_category())
    }

    async fn delete_category(&self, user: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM categories WHERE id = ?1 AND user_id = ?2")
            .bind(id)
            .bind(user)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if deleted {
            sqlx::query("INSERT INTO classifiers (user_id) VALUES (?1) ON CONFLICT (user_id) DO UPDATE SET labels_version = classifiers.labels_version + 1")
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
            "UPDATE documents SET category = ?3, confidence = CASE WHEN ?3 IS NULL THEN NULL ELSE 1.0 END, \
             labelled = CASE WHEN ?3 IS NULL THEN 0 ELSE 1 END \
             WHERE id = ?1 AND user_id = ?2 RETURNING {DOCUMENT_COLUMNS}"
        ))
        .bind(id)
        .bind(user)
        .bind(category)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        sqlx::query("INSERT INTO classifiers (user_id) VALUES (?1) ON CONFLICT (user_id) DO UPDATE SET labels_version = classifiers.labels_version + 1")
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
            "UPDATE documents SET category = ?2, confidence = ?3 \
             WHERE id = ?1 AND labelled = 0",
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
            "SELECT id FROM documents WHERE user_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )
        .bind(user)
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.reader)
        .await?)
    }

    async fn training_due(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT user_id, labels_version FROM classifiers \
             WHERE trained_version < labels_version ORDER BY user_id LIMIT 100",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    async fn labelled_texts(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT text, category FROM documents WHERE user_id = ?1 AND labelled = 1 \
             AND category IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT ?2",
        )
        .bind(user)
        .bind(limit as i64)
        .fetch_all(&self.reader)
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
            "UPDATE classifiers SET model = ?3, trained_version = ?2, trained_at = ?4 \
             WHERE user_id = ?1 AND trained_version < ?2",
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
            "SELECT trained_version, model FROM classifiers WHERE user_id = ?1 AND trained_version > 0",
        )
        .bind(user)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|(labels_version, model)| StoredModel {
            labels_version,
            model,
        }))
    }

    async fn job_stats(&self) -> Result<Vec<(JobState, i64, docket_core::Counts)>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT state, count(*), sum(total), sum(pending), sum(running), sum(retrying), \
             sum(succeeded), sum(failed), sum(cancelled) FROM jobs GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.reader)
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
        // Every word must match; each is quoted, so nothing in it is FTS5 syntax.
        let matching: String = terms
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(" ");
        let filter = "documents_fts MATCH ?1 AND d.user_id = ?2 \
                      AND (?3 IS NULL OR d.category = ?3) AND (?4 IS NULL OR d.job_id = ?4)";
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM documents_fts JOIN documents AS d ON d.rowid = documents_fts.rowid \
             WHERE {filter}"
        ))
        .bind(&matching)
        .bind(&q.user)
        .bind(q.category.as_deref())
        .bind(q.job_id.as_deref())
        .fetch_one(&self.reader)
        .await?;
        // bm25 is lower-is-better; names weigh ten times the text.
        let rows: Vec<(String, String, f64, String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT d.id, d.name, -bm25(documents_fts, 10.0, 1.0), \
             snippet(documents_fts, 1, '<mark>', '</mark>', '…', 16), d.category \
             FROM documents_fts JOIN documents AS d ON d.rowid = documents_fts.rowid \
             WHERE {filter} ORDER BY bm25(documents_fts, 10.0, 1.0), d.id LIMIT ?5 OFFSET ?6"
        ))
        .bind(&matching)
        .bind(&q.user)
        .bind(q.category.as_deref())
        .bind(q.job_id.as_deref())
        .bind(page_limit(q.limit) as i64)
        .bind(q.offset as i64)
        .fetch_all(&self.reader)
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

    async fn work_signal(&self) -> Result<Option<std::sync::Arc<tokio::sync::Notify>>, StoreError> {
        // One process owns an SQLite file; its engine is woken in process.
        Ok(None)
    }

    async fn probe_job_transition(&self, from: JobState, to: JobState) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let id = JobId::generate().to_string();
        sqlx::query(
            "INSERT INTO jobs (id, user_id, kind, state, pause_reason, created_at, updated_at, \
             finished_at, total, pending, running, retrying, succeeded, failed, cancelled, \
             max_retries, auto_pause_after, item_timeout_ms, options) \
             VALUES (?1, 'probe', 'noop', ?2, CASE WHEN ?2 = 'paused' THEN 'user' END, 0, 0, \
             CASE WHEN ?2 IN ('completed', 'failed', 'cancelled') THEN 0 END, \
             0, 0, 0, 0, 0, 0, 0, 0, 0, 1, '{}')",
        )
        .bind(&id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?;
        let accepted = sqlx::query(
            "UPDATE jobs SET state = ?1, pause_reason = CASE WHEN ?1 = 'paused' THEN 'user' END, \
             finished_at = CASE WHEN ?1 IN ('completed', 'failed', 'cancelled') THEN 1 END \
             WHERE id = ?2",
        )
        .bind(to.as_str())
        .bind(&id)
        .execute(&mut *tx)
        .await
        .is_ok();
        tx.rollback().await?;
        Ok(accepted)
    }

    async fn probe_item_transition(
        &self,
        from: ItemState,
        to: ItemState,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let id = JobId::generate().to_string();
        sqlx::query(
            "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, total, pending, \
             running, retrying, succeeded, failed, cancelled, max_retries, auto_pause_after, \
             item_timeout_ms, options) \
             VALUES (?1, 'probe', 'noop', 'running', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, '{}')",
        )
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        let item: i64 = sqlx::query_scalar(
            "INSERT INTO items (job_id, name, state, worker_id, lease_until, next_attempt_at) \
             VALUES (?1, 'probe', ?2, CASE WHEN ?2 = 'running' THEN 'w' END, \
             CASE WHEN ?2 = 'running' THEN 1 END, CASE WHEN ?2 = 'retrying' THEN 1 END) RETURNING id",
        )
        .bind(&id)
        .bind(from.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let accepted = sqlx::query(
            "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = ?1, worker_id = CASE WHEN ?1 = 'running' THEN 'w' END, \
             lease_until = CASE WHEN ?1 = 'running' THEN 1 END, \
             next_attempt_at = CASE WHEN ?1 = 'retrying' THEN 1 END WHERE id = ?2",
        )
        .bind(to.as_str())
        .bind(item)
        .execute(&mut *tx)
        .await
        .is_ok();
        tx.rollback().await?;
        Ok(accepted)
    }
}

fn uuid_simple() -> String {
    // JobId already makes time-ordered UUIDv7s; reuse its randomness for documents.
    JobId::generate()
        .as_str()
        .trim_start_matches("job_")
        .to_string()
}
