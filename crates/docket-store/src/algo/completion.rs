//! The completion path: a worker's finished items, and items a dead worker left behind
//! (rescue), go through one transaction that locks the jobs' books, finds which items are
//! still held, lets [`plan_completions`] decide, applies the plan and writes back the books
//! that changed.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use docket_core::{JobBook, Millis};

use super::sql::{On, Sql, Statements};
use crate::plan::{plan_completions, rescue_target, CompletionPlan, Held, Succeeded};
use crate::{CompleteReport, Completion, StoreError};

/// A job's book as a completion transaction locked it.
pub(crate) struct LockedBook {
    pub id: String,
    pub book: JobBook,
    /// How many attempts an item of the job gets (a rescue decides retry or failure by it).
    pub max_retries: i64,
}

/// An item found still running past its lease, inside the rescue transaction.
#[derive(sqlx::FromRow)]
struct ExpiredItem {
    id: i64,
    job_id: String,
    attempts: i64,
}

/// The statements a backend runs for the completion path. Locking is the driver's:
/// `load_books` locks the job rows (in id order, `ids` come sorted) before `held_items` or
/// [`STILL_EXPIRED`] lock items; `write_held_results` locks no item.
#[async_trait]
pub(crate) trait CompletionDriver: Statements {
    /// The books of these jobs, locked for this transaction; unknown jobs are absent.
    async fn load_books(
        &self,
        tx: &mut Self::Tx,
        ids: &[String],
    ) -> Result<Vec<LockedBook>, StoreError>;
    /// Which of these items are still running under `worker`, locked, with the attempt each
    /// is on.
    async fn held_items(
        &self,
        tx: &mut Self::Tx,
        ids: &[i64],
        worker: &str,
    ) -> Result<Held, StoreError>;
    /// Writes the results of the completions that succeeded whose items are still running
    /// under `worker` on the attempt reported, where no result exists yet, without locking the
    /// items; returns the ids of the items whose results were written. A backend may write
    /// none here (they are then written with the plan).
    async fn write_held_results(
        &self,
        tx: &mut Self::Tx,
        worker: &str,
        done: &[Completion],
        now: Millis,
    ) -> Result<Vec<i64>, StoreError>;
    /// Writes the results of items that succeeded (the items are locked).
    async fn write_results(
        &self,
        tx: &mut Self::Tx,
        succeeded: &[&Succeeded],
        now: Millis,
    ) -> Result<(), StoreError>;
    /// Writes the plan's item updates and errors (not its results).
    async fn apply_plan(&self, tx: &mut Self::Tx, plan: &CompletionPlan) -> Result<(), StoreError>;
}

/// Results a completion wrote for items it then found not held.
const REMOVE_RESULTS: Sql = Sql::each(
    "DELETE FROM results WHERE item_id IN (SELECT value FROM json_each($1))",
    "DELETE FROM results WHERE item_id = ANY($1::bigint[])",
);

/// Items whose lease ended before `now`, read outside any transaction: (id, job id).
const EXPIRED_ITEMS: Sql = Sql::each(
    "SELECT id, job_id FROM items INDEXED BY items_running \
     WHERE state = 'running' AND lease_until < $1 ORDER BY id",
    "SELECT id, job_id FROM items WHERE state = 'running' AND lease_until < $1 \
     ORDER BY id",
);
/// Which of these items are still running with a lease that ended before `now`, locked
/// (SQLite's one writer already holds them all). On PostgreSQL `SKIP LOCKED`: an item a
/// heartbeat holds is being extended, so it is not taken.
const STILL_EXPIRED: Sql = Sql::each(
    "SELECT id, job_id, attempts FROM items WHERE id IN (SELECT value FROM json_each($1)) \
     AND state = 'running' AND lease_until < $2 ORDER BY id",
    "SELECT id, job_id, attempts FROM items WHERE id = ANY($1::bigint[]) \
     AND state = 'running' AND lease_until < $2 ORDER BY id FOR UPDATE SKIP LOCKED",
);

/// Applies the targets of items `worker` holds; the rest are reported lost.
pub(crate) async fn complete<D: CompletionDriver>(
    driver: &D,
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

    let mut tx = driver.begin().await?;
    // Results first, for the items still running under this worker and attempt, before the
    // job rows are locked: a claim of the same job holds its row while it takes items, and
    // writing results is the larger part of a completion. Nothing is locked for them but the
    // results rows themselves (their items only `KEY SHARE`, which no update of an item waits
    // for), so no order of locks changes. Everything else waits for the job rows: which items
    // are still held (the plan), and the item updates, whose `event_seq` numbers must follow
    // commit order within a job.
    let written: HashSet<i64> = driver
        .write_held_results(&mut tx, worker, &done, now)
        .await?
        .into_iter()
        .collect();
    let job_ids = sorted_job_ids(done.iter().map(|c| c.job_id.as_str()));
    let locked = driver.load_books(&mut tx, &job_ids).await?;
    let mut books: HashMap<String, JobBook> = locked.into_iter().map(|l| (l.id, l.book)).collect();
    let before = books.clone();
    let ids: Vec<i64> = done.iter().map(|c| c.item_id).collect();
    let held = driver.held_items(&mut tx, &ids, worker).await?;
    let mut plan = plan_completions(done, &held, &mut books);
    plan.report.lost += repeated;
    // An item taken over between the two (its lease ran out) is not this worker's to finish:
    // the result written for it goes again. One that became held meanwhile cannot happen (only
    // this worker's own claim could do that); its result is written now all the same.
    let planned: HashSet<i64> = plan.succeeded.iter().map(|s| s.item_id).collect();
    let lost: Vec<i64> = written.difference(&planned).copied().collect();
    if !lost.is_empty() {
        driver
            .execute(&mut tx, REMOVE_RESULTS, &[lost.as_slice().into()])
            .await?;
    }
    let missing: Vec<&Succeeded> = plan
        .succeeded
        .iter()
        .filter(|s| !written.contains(&s.item_id))
        .collect();
    driver.write_results(&mut tx, &missing, now).await?;
    driver.apply_plan(&mut tx, &plan).await?;
    write_books(driver, &mut tx, &before, books, now).await?;
    driver.commit(tx).await?;
    Ok(plan.report)
}

/// Takes back items whose lease expired: each is completed on behalf of its lost worker as a
/// failed, transient attempt, through the same bookkeeping. Returns how many were taken back.
pub(crate) async fn rescue_expired<D: CompletionDriver>(
    driver: &D,
    now: Millis,
) -> Result<u64, StoreError> {
    let expired: Vec<(i64, String)> = driver
        .fetch_all(On::Read, EXPIRED_ITEMS, &[now.into()])
        .await?;
    if expired.is_empty() {
        return Ok(0);
    }
    let mut tx = driver.begin().await?;
    let job_ids = sorted_job_ids(expired.iter().map(|(_, job)| job.as_str()));
    let mut books = HashMap::new();
    let mut max_retries = HashMap::new();
    for l in driver.load_books(&mut tx, &job_ids).await? {
        max_retries.insert(l.id.clone(), l.max_retries);
        books.insert(l.id, l.book);
    }
    let before = books.clone();
    let ids: Vec<i64> = expired.iter().map(|(id, _)| *id).collect();
    // Still expired now that the jobs are locked: a lease renewed meanwhile is not taken.
    let still: Vec<ExpiredItem> = driver
        .fetch_all(
            On::Tx(&mut tx),
            STILL_EXPIRED,
            &[ids.as_slice().into(), now.into()],
        )
        .await?;
    let held: Held = still
        .iter()
        .map(|e| (e.id, e.attempts.max(0) as u32))
        .collect();
    let done: Vec<Completion> = still
        .into_iter()
        .map(|e| {
            let retries = max_retries.get(&e.job_id).copied().unwrap_or(0);
            Completion {
                item_id: e.id,
                attempt: e.attempts.max(0) as u32,
                target: rescue_target(e.attempts.max(0) as u32, retries.max(0) as u32, now),
                job_id: e.job_id,
            }
        })
        .collect();
    let plan = plan_completions(done, &held, &mut books);
    driver
        .write_results(&mut tx, &plan.succeeded.iter().collect::<Vec<_>>(), now)
        .await?;
    driver.apply_plan(&mut tx, &plan).await?;
    write_books(driver, &mut tx, &before, books, now).await?;
    driver.commit(tx).await?;
    Ok(plan.report.applied as u64)
}

fn sorted_job_ids<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut ids: Vec<String> = ids.map(str::to_owned).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Settles the books of a completion and writes back, in id order, those that changed.
async fn write_books<D: CompletionDriver>(
    driver: &D,
    tx: &mut D::Tx,
    before: &HashMap<String, JobBook>,
    books: HashMap<String, JobBook>,
    now: Millis,
) -> Result<(), StoreError> {
    let mut books: Vec<(String, JobBook)> = books.into_iter().collect();
    books.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, mut book) in books {
        book.settle();
        if before.get(&id) != Some(&book) {
            super::write_book(driver, tx, &id, &book, now, None).await?;
        }
    }
    Ok(())
}
