//! The schema probes both backends answer with the same statements (the `testing` feature).

use docket_core::JobId;

use super::sql::{On, Sql, Statements};
use crate::StoreError;

const INSERT_JOB: Sql = Sql::same(
    "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, total, pending, \
     running, retrying, succeeded, failed, cancelled, max_retries, auto_pause_after, \
     item_timeout_ms, options) \
     VALUES ($1, 'probe', 'noop', 'running', 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, '{}')",
);
const INSERT_ITEM: Sql =
    Sql::same("INSERT INTO items (job_id, name, state) VALUES ($1, 'probe', 'pending')");

/// Whether the database accepts an item of a job that does not exist, or an item moved to
/// another job (both tried in transactions that are rolled back).
pub(crate) async fn item_without_its_job<D: Statements>(driver: &D) -> Result<bool, StoreError> {
    let missing = JobId::generate().to_string();
    let mut tx = driver.begin().await?;
    let orphan = driver
        .execute(&mut tx, INSERT_ITEM, &[missing.as_str().into()])
        .await;
    driver.rollback(tx).await?;
    if orphan.is_ok() {
        return Ok(true);
    }
    let id = JobId::generate().to_string();
    let mut tx = driver.begin().await?;
    driver
        .execute(&mut tx, INSERT_JOB, &[id.as_str().into()])
        .await?;
    driver
        .execute(&mut tx, INSERT_ITEM, &[id.as_str().into()])
        .await?;
    let moved = driver
        .execute(
            &mut tx,
            Sql::same("UPDATE items SET job_id = $1 WHERE job_id = $2"),
            &[missing.as_str().into(), id.as_str().into()],
        )
        .await;
    driver.rollback(tx).await?;
    Ok(moved.is_ok())
}

/// Rows of items and of their results that still refer to this job.
pub(crate) async fn rows_of_job<D: Statements>(
    driver: &D,
    job_id: &str,
) -> Result<i64, StoreError> {
    let (n,): (i64,) = driver
        .fetch_one(
            On::Read,
            Sql::same(
                "SELECT (SELECT count(*) FROM items WHERE job_id = $1) \
                 + (SELECT count(*) FROM results WHERE job_id = $1 \
                    OR item_id IN (SELECT id FROM items WHERE job_id = $1))",
            ),
            &[job_id.into()],
        )
        .await?;
    Ok(n)
}
