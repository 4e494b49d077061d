//! The server backend: PostgreSQL, shared by many worker processes. It mirrors the SQLite
//! backend statement for statement where it can; what differs is concurrency control.
//!
//! Locking protocol (deadlock freedom): a transaction that changes items first locks the rows
//! of their jobs, always in ascending id order (`... WHERE id = ANY($1) ORDER BY id FOR
//! UPDATE`), and only then the items, again in id order. Claims take items with `FOR UPDATE
//! SKIP LOCKED`. Heartbeats lock only items (in id order) and never wait for a job, so they
//! cannot close a cycle. A completion writes the results of its items before it locks the job
//! rows (a claim of the same job waits for less); it locks no item for them, their foreign key
//! holds each item `KEY SHARE` (in id order), and heartbeats and completions lock items `FOR NO
//! KEY UPDATE`, which does not wait for that, so only removing an item (deleting a finished
//! job whose last items are still being completed) can wait for it: a deadlock there is
//! rare, and both sides retry it. Listings lock one job row (`claim_listing` with `SKIP LOCKED`;
//! `add_items` and `seal_job` before inserting or counting items). A document write locks its
//! item before the document, the order in which deleting a job reaches them (items, then the
//! `ON DELETE SET NULL` of their documents). Batches cross the boundary as arrays
//! (`= ANY($1)`, `UNNEST`), so a claim or a completion of a thousand items costs a handful of
//! statements.

mod completion;
mod creation;
mod deletion;
mod documents;
mod driver;
mod jobs;
mod listing;
#[cfg(feature = "testing")]
mod probe;
mod queue;
mod stats;
mod text;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use async_trait::async_trait;
use docket_core::{JobBook, JobKind, JobState, Millis, Stage};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::nul::{holds_nul, json_text, may_hold_nul};
use crate::plan::{claim_front, fair_shares, ClaimCandidate, CompletionPlan};
use crate::prelude::*;
use crate::row::stats_rows;
use crate::row::{JobRow, JOB_COLUMNS};
use crate::{Claimed, NewItem, NewJob, ProgressUpdate, StoreError};
use text::copy_text;

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
            "SELECT {JOB_COLUMNS}, max_workers, max_retries, item_timeout_ms, priority, \
             claim_pass FROM jobs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE"
        ))
        .bind(ids)
        .fetch_all(&mut **tx)
        .await?)
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
    priority: String,
    claim_pass: i64,
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
    priority: String,
    claim_pass: i64,
}

/// A claim candidate from a job's counters, cap, priority and pass.
fn candidate(
    max_workers: Option<i64>,
    running: i64,
    pending: i64,
    retrying: i64,
    priority: &str,
    pass: i64,
) -> Result<ClaimCandidate, StoreError> {
    Ok(ClaimCandidate {
        headroom: max_workers.map_or(i64::MAX, |m| m - running),
        waiting: pending + retrying,
        pass,
        priority: priority.parse()?,
    })
}
