//! Transaction algorithms written once, over a small per-backend driver whose methods only run
//! SQL (River's idea: drivers execute, they do not decide). What a transaction does with the
//! job's book lives here; how each backend locks and writes lives in its driver
//! (`sqlite/driver.rs`, `postgres/driver.rs`).

pub(crate) mod categories;
pub(crate) mod changes;
pub(crate) mod completion;
pub(crate) mod control;
pub(crate) mod creation;
pub(crate) mod deletion;
pub(crate) mod documents;
mod events;
mod export;
pub(crate) mod jobs;
pub(crate) mod listing;
#[cfg(feature = "testing")]
pub(crate) mod probe;
pub(crate) mod queue;
mod remotes;
mod schedules;
pub(crate) mod sql;
pub(crate) mod storage;
mod tokens;
mod uploads;
mod webhooks;

use async_trait::async_trait;
use docket_core::{JobBook, Millis, PauseReason};

use crate::{NewItem, StoreError};
use sql::{Sql, Statements};

/// The statements every book-keeping transaction runs.
#[async_trait]
pub(crate) trait BookDriver: Send + Sync {
    type Tx: Send;
    async fn begin(&self) -> Result<Self::Tx, StoreError>;
    /// Inserts items of a job, pending.
    async fn insert_items(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        items: &[NewItem],
    ) -> Result<(), StoreError>;
    /// Tells idle engines of other processes that there is work (a no-op where the backend
    /// has no such signal).
    async fn announce_work(&self, tx: &mut Self::Tx) -> Result<(), StoreError>;
    async fn commit(&self, tx: Self::Tx) -> Result<(), StoreError>;
    async fn rollback(&self, tx: Self::Tx) -> Result<(), StoreError>;
}

/// Writes a job's book back; a claim also moves the job's place in claim order (fairness).
/// PostgreSQL is told the types of the values it reads more than once.
const WRITE_BOOK: Sql = Sql::each(
    "UPDATE jobs SET state = $1, pause_requested = $2, pause_reason = $3, pending = $4, \
     running = $5, retrying = $6, succeeded = $7, failed = $8, cancelled = $9, \
     consecutive_failures = $10, failure_streak = $11, error = $12, updated_at = $13, \
     total = $15, sealed = $16, claim_pass = COALESCE($17, claim_pass), reused = $18, \
     started_at = COALESCE(started_at, CASE WHEN $1 = 'running' THEN $13 END), \
     finished_at = CASE WHEN $1 IN ('completed', 'failed', 'cancelled') \
                        THEN COALESCE(finished_at, $13) END \
     WHERE id = $14",
    "UPDATE jobs SET state = $1::text, pause_requested = $2, pause_reason = $3, \
     pending = $4, running = $5, retrying = $6, succeeded = $7, failed = $8, \
     cancelled = $9, consecutive_failures = $10, failure_streak = $11, error = $12, \
     updated_at = $13::bigint, total = $15, sealed = $16, \
     started_at = COALESCE(started_at, CASE WHEN $1::text = 'running' THEN $13::bigint END), \
     finished_at = CASE WHEN $1::text IN ('completed', 'failed', 'cancelled') \
                        THEN COALESCE(finished_at, $13::bigint) END, \
     claim_pass = COALESCE($17::bigint, claim_pass), reused = $18 \
     WHERE id = $14",
);

/// Writes a job's book (its state and counters) back; a claim also gives the job's new
/// `claim_pass` (see `plan::fair_shares`).
pub(crate) async fn write_book<D: Statements>(
    driver: &D,
    tx: &mut D::Tx,
    id: &str,
    b: &JobBook,
    now: Millis,
    claim_pass: Option<i64>,
) -> Result<(), StoreError> {
    let args = [
        b.state.as_str().into(),
        b.pause_requested.into(),
        b.pause_reason.map(PauseReason::as_str).into(),
        b.counts.pending.into(),
        b.counts.running.into(),
        b.counts.retrying.into(),
        b.counts.succeeded.into(),
        b.counts.failed.into(),
        b.counts.cancelled.into(),
        (b.consecutive_failures as i64).into(),
        b.failure_streak.into(),
        b.error.as_deref().into(),
        now.into(),
        id.into(),
        b.counts.total.into(),
        b.sealed.into(),
        claim_pass.into(),
        b.counts.reused.into(),
    ];
    driver.execute(tx, WRITE_BOOK, &args).await?;
    Ok(())
}
