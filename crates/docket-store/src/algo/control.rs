//! Job control (pause, resume, cancel): one transaction that loads the job's book, lets the
//! book decide, applies the item side effect it asks for, and writes the book back.

use async_trait::async_trait;
use docket_core::{Job, JobBook, JobState, Millis, PauseReason};

use super::BookDriver;
use crate::StoreError;

/// What a control decision needs done to the job's items.
pub(crate) enum ControlEffect {
    None,
    /// Pending items are cancelled (the job finished early).
    CancelUnstarted,
    /// Items that failed in this consecutive-failure streak are queued again.
    Requeue(i64),
}

/// The statements a backend runs for [`control`]. Locking is the driver's: `load_book` must
/// hold the job row until the transaction ends.
#[async_trait]
pub(crate) trait ControlDriver: BookDriver {
    /// The job's book, locked for this transaction; `None` for an unknown job.
    async fn load_book(&self, tx: &mut Self::Tx, id: &str) -> Result<Option<JobBook>, StoreError>;
    async fn cancel_unstarted(&self, tx: &mut Self::Tx, id: &str) -> Result<(), StoreError>;
    /// Unfinished jobs whose deadline passed before `now`, read outside any transaction.
    async fn deadline_passed(&self, now: Millis) -> Result<Vec<String>, StoreError>;
    /// Queues the failed items of this failure streak again; returns how many.
    async fn requeue_failed(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        streak: i64,
    ) -> Result<u64, StoreError>;
}

/// Runs one control transaction: `decide` changes the book (or refuses), and its effect is
/// applied to the items before the book is written back.
pub(crate) async fn control<D: ControlDriver>(
    driver: &D,
    id: &str,
    now: Millis,
    decide: impl FnOnce(&mut JobBook) -> Result<ControlEffect, StoreError> + Send,
) -> Result<Job, StoreError> {
    let mut tx = driver.begin().await?;
    let mut book = driver
        .load_book(&mut tx, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    match decide(&mut book)? {
        ControlEffect::None => {}
        ControlEffect::CancelUnstarted => {
            driver.cancel_unstarted(&mut tx, id).await?;
            book.on_unstarted_cancelled();
        }
        ControlEffect::Requeue(streak) => {
            let n = driver.requeue_failed(&mut tx, id, streak).await?;
            book.on_requeued_failed(n as i64);
            book.settle();
        }
    }
    driver.write_book(&mut tx, id, &book, now).await?;
    if book.is_runnable() {
        driver.announce_work(&mut tx).await?;
    }
    driver.commit(tx).await?;
    driver.job(id, now).await?.ok_or(StoreError::NotFound)
}

/// Pause: the book records the request; running items stop at their next stage boundary.
pub(crate) async fn pause<D: ControlDriver>(
    driver: &D,
    id: &str,
    reason: PauseReason,
    now: Millis,
) -> Result<Job, StoreError> {
    control(driver, id, now, |b| {
        b.request_pause(reason)?;
        Ok(ControlEffect::None)
    })
    .await
}

/// Resume: a job paused for consecutive failures queues that streak's items again.
pub(crate) async fn resume<D: ControlDriver>(
    driver: &D,
    id: &str,
    now: Millis,
) -> Result<Job, StoreError> {
    control(driver, id, now, |b| {
        Ok(match b.resume()? {
            Some(streak) => ControlEffect::Requeue(streak),
            None => ControlEffect::None,
        })
    })
    .await
}

/// Cancel: the job finishes now; items not yet started are cancelled.
pub(crate) async fn cancel<D: ControlDriver>(
    driver: &D,
    id: &str,
    now: Millis,
) -> Result<Job, StoreError> {
    control(driver, id, now, |b| {
        b.finish_early(JobState::Cancelled, None)?;
        Ok(ControlEffect::CancelUnstarted)
    })
    .await
}

/// Fail: the job finishes now with `error`; items not yet started are cancelled.
pub(crate) async fn fail<D: ControlDriver>(
    driver: &D,
    id: &str,
    error: String,
    now: Millis,
) -> Result<Job, StoreError> {
    control(driver, id, now, move |b| {
        b.finish_early(JobState::Failed, Some(error))?;
        Ok(ControlEffect::CancelUnstarted)
    })
    .await
}

/// Fails every unfinished job whose deadline passed; returns how many.
pub(crate) async fn expire_deadlines<D: ControlDriver>(
    driver: &D,
    now: Millis,
) -> Result<u64, StoreError> {
    let mut n = 0;
    for id in driver.deadline_passed(now).await? {
        match fail(driver, &id, "deadline exceeded".into(), now).await {
            Ok(_) => n += 1,
            // Finished (or deleted) meanwhile: nothing to do.
            Err(StoreError::Rule(_)) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
