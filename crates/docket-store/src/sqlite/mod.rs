//! The embedded backend: one SQLite file in WAL mode. All writes go through a single
//! connection (SQLite has one writer anyway) with `BEGIN IMMEDIATE`, so writers queue in
//! process instead of failing with SQLITE_BUSY; reads use a small pool of their own.
//! Batches cross the boundary as one JSON array bound to a single statement (`json_each`), so
//! a claim or a completion of a thousand items costs a handful of statements, not thousands.

mod completion;
mod creation;
mod deletion;
mod documents;
mod driver;
mod files;
mod jobs;
mod listing;
#[cfg(feature = "testing")]
mod probe;
mod queue;
mod stats;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use docket_core::{JobKind, JobState, Millis, Stage};
use serde_json::json;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::plan::{claim_front, fair_shares, ClaimCandidate};
use crate::prelude::*;
use crate::row::stats_rows;
use crate::row::{JobRow, JOB_COLUMNS};
use crate::{Claimed, NewItem, NewJob, ProgressUpdate, StoreError};

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

type Tx = Transaction<'static, Sqlite>;

/// Items per INSERT statement when creating a job: bounds the size of one bound JSON value.
const INSERT_CHUNK: usize = 20_000;

/// Turns off SQLite's memory statistics for the process, before SQLite first starts. They
/// cost one process-wide mutex around every allocation and free, which the writer, the
/// readers and the tokio threads dropping row values all contend on (a sixth of the engine's
/// context switches); Docket reads none of them, and SQLite recommends them off
/// (`SQLITE_DEFAULT_MEMSTATUS=0`). Called after SQLite started (someone opened a database
/// first), the call is refused and changes nothing.
fn memory_statistics_off() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config with SQLITE_CONFIG_MEMSTATUS takes one int. Called once,
        // before any connection is opened by this module; if SQLite is already initialised it
        // answers SQLITE_MISUSE and does nothing.
        let answer = unsafe {
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            )
        };
        if answer != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(
                answer,
                "SQLite was already started; memory statistics stay on"
            );
        }
    });
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        memory_statistics_off();
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        files::make_private(options.get_filename())?;
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
        // On a task of its own, so that a caller dropped mid-way (an HTTP client that went
        // away, a cancelled service) cannot leave the writer inside a transaction: sqlx's
        // SQLite worker may have begun it and answered just as the caller's future is
        // dropped, and then no `Transaction` exists to roll it back — every later
        // `BEGIN IMMEDIATE` on the one writer connection would fail. The task always takes
        // the answer, so the transaction is committed by the caller or rolled back on drop.
        let writer = self.writer.clone();
        let begun = tokio::spawn(async move {
            let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query("UPDATE event_clock SET seq = seq + 1")
                .execute(&mut *tx)
                .await?;
            Ok::<Tx, StoreError>(tx)
        });
        // A join error is a panic inside sqlx or a runtime shutting down.
        begun
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))?
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
    priority: String,
    claim_pass: i64,
}

/// id, name, payload, attempts, stage, checkpoint. The payload stays a slice of the claim's
/// JSON text and is read straight into an `ItemPayload`: going through a `serde_json::Value`
/// first cost a map and its strings per claimed item.
type ClaimedRow<'a> = (
    i64,
    String,
    &'a serde_json::value::RawValue,
    i64,
    String,
    Option<serde_json::Value>,
);
