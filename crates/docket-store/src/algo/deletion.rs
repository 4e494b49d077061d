//! Removing jobs: only a finished job may be deleted, or marked for durable deletion.

use async_trait::async_trait;
use docket_core::{CoreError, JobState, Millis};

use super::control::load_book;
use super::sql::Statements;
use crate::StoreError;

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
    /// The state of a job not yet marked deleted, locked; `None` if there is none.
    async fn unmarked_state(
        &self,
        tx: &mut Self::Tx,
        id: &str,
    ) -> Result<Option<JobState>, StoreError>;
    /// Marks the job deleted, due for removal now, and frees its idempotency key.
    async fn mark_deleted(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        now: Millis,
    ) -> Result<(), StoreError>;
}

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
pub(crate) async fn mark_deleted<D: DeletionDriver>(
    driver: &D,
    id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    let mut tx = driver.begin().await?;
    let state = driver
        .unmarked_state(&mut tx, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    refuse_unfinished(state)?;
    driver.mark_deleted(&mut tx, id, now).await?;
    driver.commit(tx).await
}
