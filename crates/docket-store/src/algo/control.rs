//! Job control (pause, resume, cancel): one transaction that loads the job's book, lets the
//! book decide, applies the item side effect it asks for, and writes the book back.

use docket_core::{Job, JobBook, JobState, Millis, PauseReason};

use super::sql::{On, Sql, Statements};
use crate::row::{JobRow, JOB_COLUMNS};
use crate::StoreError;

/// What a control decision needs done to the job's items.
pub(crate) enum ControlEffect {
    None,
    /// Pending items are cancelled (the job finished early).
    CancelUnstarted,
    /// Items that failed in this consecutive-failure streak are queued again.
    Requeue(i64),
}

/// Moves every not-yet-started item of a job to `cancelled`; the job row must be locked.
/// Each dialect stamps the change its own way (SQLite's event clock, a PostgreSQL sequence)
/// and SQLite is told which index to walk.
const CANCEL_PENDING: Sql = Sql::each(
    "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'cancelled' WHERE id IN \
     (SELECT id FROM items INDEXED BY items_pending WHERE job_id = $1 AND state = 'pending')",
    "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'cancelled' \
     WHERE job_id = $1 AND state = 'pending'",
);
const CANCEL_RETRYING: Sql = Sql::each(
    "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'cancelled', \
     next_attempt_at = NULL WHERE id IN \
     (SELECT id FROM items INDEXED BY items_retrying WHERE job_id = $1 AND state = 'retrying')",
    "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'cancelled', \
     next_attempt_at = NULL WHERE job_id = $1 AND state = 'retrying'",
);
/// Queues the failed items of one failure streak again.
const REQUEUE_FAILED: Sql = Sql::each(
    "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'pending', \
     failure_streak = NULL, attempts = 0, stage = 'queued', progress = 0 WHERE id IN \
     (SELECT id FROM items INDEXED BY items_failed_streak WHERE job_id = $1 \
     AND state = 'failed' AND failure_streak = $2)",
    "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'pending', \
     failure_streak = NULL, attempts = 0, stage = 'queued', progress = 0 \
     WHERE job_id = $1 AND state = 'failed' AND failure_streak = $2",
);

/// The job's book, locked for this transaction; `None` for an unknown job.
pub(crate) async fn load_book<D: Statements>(
    driver: &D,
    tx: &mut D::Tx,
    id: &str,
) -> Result<Option<JobBook>, StoreError> {
    let row: Option<JobRow> = driver
        .fetch_optional(
            On::Tx(tx),
            Sql::each(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE"),
            ),
            &[id.into()],
        )
        .await?;
    row.map(|r| r.book()).transpose()
}

/// Moves every not-yet-started item of a job to `cancelled`; the job row must be locked.
pub(crate) async fn cancel_unstarted<D: Statements>(
    driver: &D,
    tx: &mut D::Tx,
    id: &str,
) -> Result<(), StoreError> {
    driver.execute(tx, CANCEL_PENDING, &[id.into()]).await?;
    driver.execute(tx, CANCEL_RETRYING, &[id.into()]).await?;
    Ok(())
}

/// Runs one control transaction: `decide` changes the book (or refuses), and its effect is
/// applied to the items before the book is written back.
pub(crate) async fn control<D: Statements>(
    driver: &D,
    id: &str,
    now: Millis,
    decide: impl FnOnce(&mut JobBook) -> Result<ControlEffect, StoreError> + Send,
) -> Result<Job, StoreError> {
    let mut tx = driver.begin().await?;
    let mut book = load_book(driver, &mut tx, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    match decide(&mut book)? {
        ControlEffect::None => {}
        ControlEffect::CancelUnstarted => {
            cancel_unstarted(driver, &mut tx, id).await?;
            book.on_unstarted_cancelled();
        }
        ControlEffect::Requeue(streak) => {
            let n = driver
                .execute(&mut tx, REQUEUE_FAILED, &[id.into(), streak.into()])
                .await?;
            book.on_requeued_failed(n as i64);
            book.settle();
        }
    }
    super::write_book(driver, &mut tx, id, &book, now, None).await?;
    if book.is_runnable() {
        driver.announce_work(&mut tx).await?;
    }
    driver.commit(tx).await?;
    super::jobs::job(driver, id, now)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Pause: the book records the request; running items stop at their next stage boundary.
pub(crate) async fn pause<D: Statements>(
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
pub(crate) async fn resume<D: Statements>(
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
pub(crate) async fn cancel<D: Statements>(
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
pub(crate) async fn fail<D: Statements>(
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
pub(crate) async fn expire_deadlines<D: Statements>(
    driver: &D,
    now: Millis,
) -> Result<u64, StoreError> {
    let passed: Vec<(String,)> = driver
        .fetch_all(
            On::Read,
            Sql::same(
                "SELECT id FROM jobs WHERE finished_at IS NULL AND deadline_at IS NOT NULL \
                 AND deadline_at < $1",
            ),
            &[now.into()],
        )
        .await?;
    let mut n = 0;
    for (id,) in passed {
        match fail(driver, &id, "deadline exceeded".into(), now).await {
            Ok(_) => n += 1,
            // Finished (or deleted) meanwhile: nothing to do.
            Err(StoreError::Rule(_)) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
