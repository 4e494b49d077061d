//! Removing jobs: only a finished job may be deleted, or marked for durable deletion.

use async_trait::async_trait;
use docket_core::{CoreError, JobState, Millis};

use super::control::load_book;
use super::sql::{On, Sql, Statements};
use crate::{Deletions, StoreError};

/// The statements a backend runs for deleting jobs. Locking is the driver's: before rows are
/// removed, a backend with row locks locks the jobs (id order) and then their running items,
/// as every other transaction does, so the cascade cannot deadlock with a heartbeat.
#[async_trait]
pub(crate) trait DeletionDriver: Statements {
    /// Removes the job's rows (the book was loaded, and so locked, before).
    async fn remove_job(&self, tx: &mut Self::Tx, id: &str) -> Result<(), StoreError>;
    /// Removes every job that finished before `before`; returns their ids.
    async fn remove_finished(
        &self,
        tx: &mut Self::Tx,
        before: Millis,
    ) -> Result<Vec<String>, StoreError>;
}

/// Marks a job deleted, due for removal now, and frees its idempotency key.
const MARK_DELETED: Sql = Sql::same(
    "UPDATE jobs SET deleted_at = $1, deletion_retry_at = $1, idempotency_key = NULL \
     WHERE id = $2",
);

fn refuse_unfinished(state: JobState) -> Result<(), StoreError> {
    if state.is_finished() {
        return Ok(());
    }
    Err(CoreError::IllegalControl {
        action: "delete",
        state,
    }
    .into())
}

/// Deletes a finished job and everything of it at once.
pub(crate) async fn delete_job<D: DeletionDriver>(driver: &D, id: &str) -> Result<(), StoreError> {
    let mut tx = driver.begin().await?;
    let book = load_book(driver, &mut tx, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    refuse_unfinished(book.state)?;
    driver.remove_job(&mut tx, id).await?;
    driver.commit(tx).await
}

/// Deletes every job that finished before `before`; returns their ids.
pub(crate) async fn purge_finished<D: DeletionDriver>(
    driver: &D,
    before: Millis,
) -> Result<Vec<String>, StoreError> {
    let mut tx = driver.begin().await?;
    let ids = driver.remove_finished(&mut tx, before).await?;
    if ids.is_empty() {
        driver.rollback(tx).await?;
    } else {
        driver.commit(tx).await?;
    }
    Ok(ids)
}

/// Marks a finished job deleted (durable deletion removes it later).
async fn mark_deleted<D: DeletionDriver>(
    driver: &D,
    id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    let mut tx = driver.begin().await?;
    let state: Option<(String,)> = driver
        .fetch_optional(
            On::Tx(&mut tx),
            Sql::each(
                "SELECT state FROM jobs WHERE id = $1 AND deleted_at IS NULL",
                "SELECT state FROM jobs WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
            ),
            &[id.into()],
        )
        .await?;
    let (state,) = state.ok_or(StoreError::NotFound)?;
    refuse_unfinished(state.parse()?)?;
    driver
        .execute(&mut tx, MARK_DELETED, &[now.into(), id.into()])
        .await?;
    driver.commit(tx).await
}

#[async_trait]
impl<D: DeletionDriver + 'static> Deletions for D {
    async fn mark_deleted(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        mark_deleted(self, id, now).await
    }

    async fn mark_expired(&self, before: Millis, now: Millis) -> Result<u64, StoreError> {
        self.execute_alone(
            Sql::same(
                "UPDATE jobs SET deleted_at = $1, deletion_retry_at = $1, idempotency_key = NULL \
                 WHERE finished_at IS NOT NULL AND finished_at < $2 AND deleted_at IS NULL",
            ),
            &[now.into(), before.into()],
        )
        .await
    }

    async fn take_deletions(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        // Called every maintenance pass: look outside a transaction first, so that an idle
        // pass neither takes SQLite's single writer nor ticks its event clock.
        let due: Option<(bool,)> = self
            .fetch_optional(
                On::Read,
                Sql::each(
                    "SELECT EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_deleted \
                     WHERE deleted_at IS NOT NULL AND deletion_retry_at <= $1)",
                    "SELECT EXISTS (SELECT 1 FROM jobs \
                     WHERE deleted_at IS NOT NULL AND deletion_retry_at <= $1)",
                ),
                &[now.into()],
            )
            .await?;
        if due != Some((true,)) {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let ids: Vec<(String,)> = self
            .fetch_all(
                On::Tx(&mut tx),
                Sql::each(
                    "UPDATE jobs SET deletion_retry_at = $1 WHERE id IN (SELECT id FROM jobs \
                     INDEXED BY jobs_deleted WHERE deleted_at IS NOT NULL \
                     AND deletion_retry_at <= $2 ORDER BY deletion_retry_at LIMIT $3) \
                     RETURNING id",
                    "UPDATE jobs SET deletion_retry_at = $1 WHERE id IN (SELECT id FROM jobs \
                     WHERE deleted_at IS NOT NULL AND deletion_retry_at <= $2 \
                     ORDER BY deletion_retry_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id",
                ),
                &[lease_until.into(), now.into(), (limit.max(1) as i64).into()],
            )
            .await?;
        self.commit(tx).await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn remove_deleted(&self, id: &str) -> Result<(), StoreError> {
        self.execute_alone(
            Sql::same("DELETE FROM jobs WHERE id = $1 AND deleted_at IS NOT NULL"),
            &[id.into()],
        )
        .await?;
        Ok(())
    }

    async fn deletion_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Millis,
    ) -> Result<(), StoreError> {
        self.execute_alone(
            Sql::same(
                "UPDATE jobs SET deletion_attempts = deletion_attempts + 1, deletion_error = $1, \
                 deletion_retry_at = $2 WHERE id = $3 AND deleted_at IS NOT NULL",
            ),
            &[error.into(), retry_at.into(), id.into()],
        )
        .await?;
        Ok(())
    }

    async fn deletion_state(&self, id: &str) -> Result<Option<(u32, Option<String>)>, StoreError> {
        let row: Option<(i64, Option<String>)> = self
            .fetch_optional(
                On::Read,
                Sql::same(
                    "SELECT CAST(deletion_attempts AS BIGINT), deletion_error FROM jobs \
                     WHERE id = $1 AND deleted_at IS NOT NULL",
                ),
                &[id.into()],
            )
            .await?;
        Ok(row.map(|(n, e)| (n.max(0) as u32, e)))
    }
}
