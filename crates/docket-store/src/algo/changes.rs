//! Changes to a job that are not state control: its priority and worker cap
//! (`PATCH /v1/jobs/{id}`), and the release of jobs held until their `not_before`.

use docket_core::{CoreError, Job, JobOptions, JobPatch, Millis};

use super::control::load_book;
use super::sql::{On, Sql, Statements};
use crate::StoreError;

const OPTIONS: Sql = Sql::each(
    "SELECT options FROM jobs WHERE id = $1",
    "SELECT options::text FROM jobs WHERE id = $1",
);
/// The options are kept whole for the resource; the columns are what claims read.
const WRITE_CHANGE: Sql = Sql::each(
    "UPDATE jobs SET priority = $2, max_workers = $3, options = $4, updated_at = $5 WHERE id = $1",
    "UPDATE jobs SET priority = $2, max_workers = $3, options = $4::jsonb, updated_at = $5 \
     WHERE id = $1",
);
const ANY_DUE: Sql =
    Sql::same("SELECT id FROM jobs WHERE held_until IS NOT NULL AND held_until <= $1 LIMIT 1");
const RELEASE_HELD: Sql = Sql::same(
    "UPDATE jobs SET held_until = NULL WHERE held_until IS NOT NULL AND held_until <= $1",
);

/// Applies `patch` to an unfinished job (a finished one is a conflict); the next claim, in
/// any process, reads the new priority and cap.
pub(crate) async fn patch<D: Statements>(
    driver: &D,
    id: &str,
    patch: &JobPatch,
    now: Millis,
) -> Result<Job, StoreError> {
    let mut tx = driver.begin().await?;
    let book = load_book(driver, &mut tx, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if book.state.is_finished() {
        driver.rollback(tx).await?;
        return Err(CoreError::IllegalControl {
            action: "change",
            state: book.state,
        }
        .into());
    }
    let (options,): (String,) = driver
        .fetch_one(On::Tx(&mut tx), OPTIONS, &[id.into()])
        .await?;
    let mut options: JobOptions = serde_json::from_str(&options)?;
    if let Some(priority) = patch.priority {
        options.priority = priority;
    }
    if let Some(max_workers) = patch.max_workers {
        options.max_workers = max_workers;
    }
    let text = serde_json::to_string(&options)?;
    let args = [
        id.into(),
        options.priority.as_str().into(),
        options.max_workers.map(i64::from).into(),
        text.as_str().into(),
        now.into(),
    ];
    driver.execute(&mut tx, WRITE_CHANGE, &args).await?;
    // A raised cap may make room for more of the job's items at once.
    if book.is_runnable() {
        driver.announce_work(&mut tx).await?;
    }
    driver.commit(tx).await?;
    super::jobs::job(driver, id, now)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Lets claims see every job whose `not_before` has come; returns how many.
pub(crate) async fn release_held<D: Statements>(
    driver: &D,
    now: Millis,
) -> Result<u64, StoreError> {
    // A read first: the write (SQLite's one writer) only when some job is due.
    let due: Option<(String,)> = driver
        .fetch_optional(On::Read, ANY_DUE, &[now.into()])
        .await?;
    if due.is_none() {
        return Ok(0);
    }
    let mut tx = driver.begin().await?;
    let n = driver.execute(&mut tx, RELEASE_HELD, &[now.into()]).await?;
    if n > 0 {
        driver.announce_work(&mut tx).await?;
    }
    driver.commit(tx).await?;
    Ok(n)
}
