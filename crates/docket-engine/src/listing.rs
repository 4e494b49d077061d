//! Jobs whose items come from a source (a folder on the server) are listed by the job itself:
//! a worker takes the listing under a lease, adds items in chunks as it finds them (workers
//! start on them at once), and seals the job when the listing is complete. A worker that dies
//! mid-listing loses the lease; the next one skips what was already added, because a listing
//! is deterministic (sorted).

use async_trait::async_trait;
use docket_core::now_millis;
use docket_store::{Listing, NewItem, StoreError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::services::Duties;
use crate::HandlerError;

/// Lists the items of a job from its source.
#[async_trait]
pub trait Lister: Send + Sync + 'static {
    /// Sends the items of `source`, in a deterministic order, skipping the first `skip`.
    async fn list(
        &self,
        source: &docket_core::JobSource,
        skip: u64,
        sink: mpsc::Sender<Vec<NewItem>>,
    ) -> Result<(), HandlerError>;
}

/// Takes the next job waiting to be listed, under a lease, if there is one.
pub(crate) async fn claim_next(d: &Duties) -> Result<Option<Listing>, StoreError> {
    let now = now_millis();
    d.store
        .claim_listing(
            &d.config.worker_id,
            &d.lister_kinds,
            now + d.config.lease.as_millis() as i64,
            now,
        )
        .await
}

pub(crate) async fn run_listing(d: &Duties, listing: Listing, stop: &CancellationToken) {
    let c = &d.config;
    let Some(lister) = d.listers.get(&listing.kind).cloned() else {
        let message = format!("this worker cannot list sources of `{}` jobs", listing.kind);
        if let Err(e) = d
            .store
            .fail_job(&listing.job_id, &message, now_millis())
            .await
        {
            tracing::warn!(error = %e, "failing an unlistable job failed");
        }
        return;
    };
    let (tx, mut rx) = mpsc::channel::<Vec<NewItem>>(4);
    let source = listing.source.clone();
    let skip = listing.listed.max(0) as u64;
    let task = tokio::spawn(async move { lister.list(&source, skip, tx).await });
    let mut lost = false;
    // The lease is renewed with every chunk, and on a timer for stretches without one (a
    // resumed listing re-walking what it already added, a slow network share).
    let mut renew = tokio::time::interval(c.heartbeat_every);
    renew.tick().await;
    loop {
        let chunk = tokio::select! {
            chunk = rx.recv() => match chunk {
                Some(chunk) => chunk,
                None => break,
            },
            _ = renew.tick() => Vec::new(),
            // Shutting down: stop here; the lease expires and the listing resumes elsewhere.
            _ = stop.cancelled() => {
                lost = true;
                break;
            }
        };
        let empty = chunk.is_empty();
        let now = now_millis();
        match d
            .store
            .add_items(
                &listing.job_id,
                &c.worker_id,
                chunk,
                now + c.lease.as_millis() as i64,
                now,
            )
            .await
        {
            Ok(()) if empty => {}
            Ok(()) => d.wake.notify_one(),
            Err(e) => {
                tracing::warn!(job = %listing.job_id, error = %e, "adding listed items failed; the listing will be retried");
                lost = true;
                break;
            }
        }
    }
    if lost {
        task.abort();
        return;
    }
    let outcome = match task.await {
        Ok(r) => r,
        Err(e) => Err(HandlerError::Permanent(format!("listing crashed: {e}"))),
    };
    let now = now_millis();
    let written = match outcome {
        Ok(()) => d
            .store
            .seal_job(&listing.job_id, &c.worker_id, now)
            .await
            .map(|_| ()),
        Err(HandlerError::Permanent(m)) => {
            d.store.fail_job(&listing.job_id, &m, now).await.map(|_| ())
        }
        // Transient trouble or shutdown: leave it; the lease expires and the listing resumes.
        Err(e) => {
            tracing::warn!(job = %listing.job_id, error = %e, "listing interrupted; it will resume");
            Ok(())
        }
    };
    if let Err(e) = written {
        tracing::warn!(job = %listing.job_id, error = %e, "finishing a listing failed; it will be retried");
    }
    d.wake.notify_one();
}
