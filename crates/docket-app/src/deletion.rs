//! Durable deletion. `DELETE /v1/jobs/{id}` and retention only mark a job; [`run_deletions`]
//! then removes its files and, only once they are gone, its rows. Whatever fails stays marked
//! and is tried again later, so a failure never leaks files nor leaves half a job behind, and a
//! marked job is already invisible to every read.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_blobs::Blobs;
use docket_core::{blob_keys, now_millis, ErrorCode, Millis};
use docket_store::{Store, StoreError};

use crate::ServiceError;

/// Jobs one pass takes at a time.
const BATCH: usize = 64;
/// How long a pass holds the jobs it took; a pass that dies gives them back after this.
const LEASE: Duration = Duration::from_secs(300);
/// Backoff after the first failed removal of a job, doubled per failure up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// A deletion pass could not talk to the store (removing one job's files failing is recorded
/// on that job and retried, not returned).
#[derive(Debug, thiserror::Error)]
#[error("deletion pass failed: {0}")]
pub struct DeletionError(#[from] pub StoreError);

#[derive(Clone)]
pub struct Deletion {
    store: Arc<dyn Store>,
    blobs: Blobs,
}

impl Deletion {
    pub fn new(store: Arc<dyn Store>, blobs: Blobs) -> Deletion {
        Deletion { store, blobs }
    }

    /// Deletes a finished job: marked now, removed by the next pass (started at once, in the
    /// background). The caller has checked that the job is the user's.
    pub async fn delete(&self, job_id: &str) -> Result<(), ServiceError> {
        match self.store.mark_deleted(job_id, now_millis()).await {
            Ok(()) => {}
            Err(StoreError::Rule(rule)) => {
                return Err(ServiceError::refused(ErrorCode::Conflict, rule.to_string()))
            }
            Err(e) => return Err(e.into()),
        }
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.run().await {
                tracing::warn!(error = %e, "deletion pass after a delete failed; the next one retries");
            }
        });
        Ok(())
    }

    /// One deletion pass; see [`run_deletions`].
    pub async fn run(&self) -> Result<usize, DeletionError> {
        run_deletions(self.store.as_ref(), &self.blobs, now_millis()).await
    }
}

/// Removes every marked job that is due: its uploads first, then its rows. Returns how many
/// jobs were removed. A job whose files cannot be removed is recorded as failed and retried
/// after a backoff; the error is only returned when the store itself fails. Call it in a loop
/// (the maintenance loop does, through [`docket_engine::JobCleanup`]).
pub async fn run_deletions(
    store: &dyn Store,
    blobs: &Blobs,
    now: Millis,
) -> Result<usize, DeletionError> {
    let mut removed = 0;
    loop {
        let lease_until = now + LEASE.as_millis() as i64;
        let due = store.take_deletions(now, lease_until, BATCH).await?;
        let taken = due.len();
        for id in due {
            match blobs.delete_prefix(&blob_keys::upload_prefix(&id)).await {
                Ok(_) => {
                    store.remove_deleted(&id).await?;
                    removed += 1;
                }
                Err(e) => {
                    let failures = store
                        .deletion_state(&id)
                        .await?
                        .map_or(0, |(attempts, _)| attempts);
                    let backoff = FIRST_BACKOFF
                        .saturating_mul(2u32.saturating_pow(failures.min(16)))
                        .min(MAX_BACKOFF);
                    tracing::warn!(job = %id, error = %e, retry_in = ?backoff,
                        "removing a deleted job's files failed");
                    store
                        .deletion_failed(&id, &e.to_string(), now + backoff.as_millis() as i64)
                        .await?;
                }
            }
        }
        if taken < BATCH {
            return Ok(removed);
        }
    }
}

#[async_trait]
impl docket_engine::JobCleanup for Deletion {
    async fn sweep(&self) -> usize {
        match self.run().await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "deletion pass failed; the next one retries");
                0
            }
        }
    }
}
