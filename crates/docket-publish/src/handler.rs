//! The `publish` handler: runs one item — a document to publish as a digital object, or a
//! whole AMI set — against the target its payload names.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use docket_blobs::Blobs;
use docket_core::ItemPayload;
use docket_engine::{Handler, HandlerError, ItemContext};
use docket_remote::RemoteError;
use docket_store::Store;
use tokio::sync::Semaphore;

use crate::{Archipelago, PublishError, Targets};

/// One target's client and the permits that keep this process within its `concurrency`.
pub(crate) struct Connection {
    pub client: Archipelago,
    pub permits: Arc<Semaphore>,
}

/// Publishes items of `publish` jobs; one per process, shared by its workers.
pub struct PublishHandler {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) blobs: Blobs,
    pub(crate) connections: BTreeMap<String, Connection>,
    /// The targets' circuit breakers: a job whose target is down pauses until it answers.
    breakers: Option<docket_breaker::Breakers>,
}

impl PublishHandler {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Blobs,
        targets: &Targets,
        breakers: Option<docket_breaker::Breakers>,
    ) -> Result<PublishHandler, PublishError> {
        let health = breakers
            .clone()
            .map(|b| Arc::new(b) as Arc<dyn docket_remote::Health>);
        let mut connections = BTreeMap::new();
        for target in targets.iter() {
            let client = Archipelago::new(target.clone(), health.clone()).map_err(|e| {
                PublishError::Config {
                    target: target.name.clone(),
                    why: e.to_string(),
                }
            })?;
            connections.insert(
                target.name.clone(),
                Connection {
                    client,
                    permits: Arc::new(Semaphore::new(target.concurrency)),
                },
            );
        }
        Ok(PublishHandler {
            store,
            blobs,
            connections,
            breakers,
        })
    }

    /// A transient failure while the item's target is marked down is the outage's, not the
    /// item's: the job pauses with `remote_unavailable` (if the target is still down, checked
    /// with the pause) and the item goes back without spending an attempt. The breakers'
    /// prober resumes the job once the target answers.
    async fn outage(&self, ctx: &ItemContext, target: &str, error: HandlerError) -> HandlerError {
        let (Some(breakers), HandlerError::Transient(message)) = (&self.breakers, &error) else {
            return error;
        };
        if !docket_remote::Health::is_down(breakers, target).await {
            return error;
        }
        match breakers.pause_job(&ctx.item().job_id, target).await {
            Ok(true) => {
                tracing::info!(job = %ctx.item().job_id, target, "pausing the publish until the target answers again");
                HandlerError::Interrupted
            }
            Ok(false) => error,
            Err(e) => {
                HandlerError::Transient(format!("{message} (and pausing the job failed: {e})"))
            }
        }
    }

    pub(crate) fn connection(&self, target: &str) -> Result<&Connection, HandlerError> {
        self.connections.get(target).ok_or_else(|| {
            // A target removed from the configuration since the job was made, or a worker
            // configured differently: retrying on this process cannot help.
            HandlerError::Permanent(format!(
                "the publish target `{target}` is not configured on this worker"
            ))
        })
    }

    /// Uploads the blob at `key` to the repository (streamed, opened afresh per attempt).
    pub(crate) async fn upload_blob(
        &self,
        client: &Archipelago,
        what: &str,
        path: &str,
        filename: &str,
        key: &str,
    ) -> Result<crate::FileRef, HandlerError> {
        let remote = client.remote().clone();
        client
            .upload(what, path, filename, || {
                let (blobs, key, remote) = (self.blobs.clone(), key.to_string(), remote.clone());
                async move {
                    let (_, stream) = blobs
                        .get_stream(&key)
                        .await
                        .map_err(|e| remote.broken_answer("reading what to upload", e))?;
                    Ok(reqwest::Body::wrap_stream(futures::TryStreamExt::map_err(
                        stream,
                        std::io::Error::other,
                    )))
                }
            })
            .await
            .map_err(remote_error)
    }
}

#[async_trait]
impl Handler for PublishHandler {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        match &ctx.item().payload {
            ItemPayload::PublishDocument {
                target,
                document_id,
            } => match crate::objects::publish(self, ctx, target, document_id).await {
                Err(e) => Err(self.outage(ctx, target, e).await),
                done => done,
            },
            ItemPayload::PublishSet { target, source_job } => {
                match crate::ami_set::publish(self, ctx, target, source_job).await {
                    Err(e) => Err(self.outage(ctx, target, e).await),
                    done => done,
                }
            }
            ItemPayload::Unreadable(why) => Err(HandlerError::Permanent(why.clone())),
            other => Err(HandlerError::Permanent(format!(
                "a publish item carries a document or a set, not {}",
                other.describe()
            ))),
        }
    }
}

/// A remote's failure as the item's: transient ones are retried by the engine, permanent
/// ones fail the item with the remote's own words.
pub(crate) fn remote_error(e: RemoteError) -> HandlerError {
    if e.is_transient() {
        HandlerError::Transient(e.to_string())
    } else {
        HandlerError::Permanent(e.to_string())
    }
}

pub(crate) fn blob_error(what: &str, e: docket_blobs::BlobError) -> HandlerError {
    let message = format!("{what}: {e}");
    if e.is_transient() {
        HandlerError::Transient(message)
    } else {
        HandlerError::Permanent(message)
    }
}

pub(crate) fn store_error(what: &str, e: docket_store::StoreError) -> HandlerError {
    let message = format!("{what} failed: {e}");
    if e.is_transient() {
        HandlerError::Transient(message)
    } else {
        HandlerError::Permanent(message)
    }
}
