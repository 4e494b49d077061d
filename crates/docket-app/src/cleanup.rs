//! Removing the uploads of a submit that never became a job. There is no job row to mark, so
//! the removal is retried (with backoff) until the blob store accepts it.

use std::time::Duration;

use docket_blobs::Blobs;
use docket_core::blob_keys;

/// Longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Removes the uploads of job `id`: one attempt now; if it fails, a background task keeps
/// trying until one succeeds.
pub(crate) async fn remove_uploads(blobs: &Blobs, id: &str) {
    if attempt(blobs, id).await {
        return;
    }
    let (blobs, id) = (blobs.clone(), id.to_owned());
    tokio::spawn(async move { retry(blobs, id).await });
}

/// [`remove_uploads`] from code that cannot wait (a `Drop`): all of it in the background.
pub(crate) fn remove_uploads_later(blobs: &Blobs, id: &str) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::error!(job = %id, "no runtime to remove an abandoned upload's files");
        return;
    };
    let (blobs, id) = (blobs.clone(), id.to_owned());
    runtime.spawn(async move {
        if !attempt(&blobs, &id).await {
            retry(blobs, id).await;
        }
    });
}

async fn attempt(blobs: &Blobs, id: &str) -> bool {
    match blobs.delete_prefix(&blob_keys::upload_prefix(id)).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(job = %id, error = %e, "removing an abandoned upload's files failed; retrying");
            false
        }
    }
}

async fn retry(blobs: Blobs, id: String) {
    let mut backoff = Duration::from_millis(200);
    loop {
        tokio::time::sleep(backoff).await;
        if attempt(&blobs, &id).await {
            return;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
