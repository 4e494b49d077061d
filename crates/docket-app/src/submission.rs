//! Submitting jobs: uploads, server folders, synthetic `noop` jobs, idempotent replays.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use docket_blobs::Blobs;
use docket_core::{
    blob_keys, now_millis, ErrorCode, ItemPayload, Job, JobId, JobKind, JobOptions, JobSource,
    Millis,
};
use docket_notify::WebhookPolicy;
use docket_store::{Created, NewItem, NewJob, ResumableUpload, Store, StoreError};
use futures::Stream;

use crate::cleanup::{remove_uploads, remove_uploads_later};
use crate::folder::allowed_folder;
use crate::ServiceError;

/// A synthetic `noop` job may ask for at most this many items.
pub const NOOP_MAX_ITEMS: u64 = 1_000_000;
/// A job made of resumable uploads names at most this many.
pub const MAX_UPLOADS_PER_JOB: usize = 10_000;
/// A `noop` item sleeps at most this long.
const NOOP_MAX_SLEEP_MS: u64 = 60_000;

#[derive(Clone)]
pub struct Submission {
    store: Arc<dyn Store>,
    blobs: Blobs,
    /// Canonical directories a folder source may lie under.
    allowed_roots: Arc<Vec<PathBuf>>,
    /// Largest upload, all files together, in bytes.
    upload_limit: u64,
    /// Where a job's `notify_url` may point.
    webhooks: WebhookPolicy,
}

/// What a synthetic job asks for.
#[derive(Debug, Clone, Copy)]
pub struct NoopSpec {
    pub count: Option<u64>,
    pub sleep_ms: Option<u64>,
}

impl Submission {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Blobs,
        allowed_roots: Arc<Vec<PathBuf>>,
        upload_limit: u64,
    ) -> Submission {
        Submission {
            store,
            blobs,
            allowed_roots,
            upload_limit,
            webhooks: WebhookPolicy::default(),
        }
    }

    /// Judges `notify_url`s by `policy` (the default: public addresses only).
    pub fn with_webhook_policy(mut self, policy: WebhookPolicy) -> Submission {
        self.webhooks = policy;
        self
    }

    /// The `notify_url` must satisfy the webhook policy now; the sender checks it again on the
    /// address it dials.
    async fn check_notify_url(&self, options: &JobOptions) -> Result<(), ServiceError> {
        let Some(url) = &options.notify_url else {
            return Ok(());
        };
        self.webhooks.check(url).await.map_err(|refusal| {
            ServiceError::refused(ErrorCode::NotifyUrlRefused, refusal.to_string())
        })
    }

    /// The job an earlier submit with this idempotency key created, if any.
    pub async fn replay(&self, user: &str, key: &str) -> Result<Option<Job>, ServiceError> {
        Ok(self
            .store
            .job_by_idempotency_key(user, key, now_millis())
            .await?)
    }

    /// Starts an upload: files are streamed into blobs under a fresh job id as they arrive.
    /// If the upload is dropped before [`Upload::finish`], its files are removed.
    pub fn upload(&self) -> Upload {
        Upload {
            submission: self.clone(),
            id: JobId::generate().to_string(),
            items: Vec::new(),
            bytes: 0,
            stored_any: false,
        }
    }

    /// A `process` job over a folder on the server, listed later by the job itself.
    pub async fn folder(
        &self,
        user: &str,
        path: PathBuf,
        options: JobOptions,
        idempotency_key: Option<String>,
    ) -> Result<Created, ServiceError> {
        self.check_notify_url(&options).await?;
        let folder = allowed_folder(self.allowed_roots.to_vec(), path).await?;
        let new = NewJob {
            source: Some(JobSource::Folder { path: folder }),
            ..job(user, JobKind::Process, options, idempotency_key)
        };
        Ok(self.store.create_job(new, now_millis()).await?)
    }

    /// A `process` job over finished resumable uploads of `user`, one item per upload in the
    /// given order, each pointing at the upload's bytes with the hash computed while they
    /// arrived. The uploads are consumed by the job in the transaction that creates it.
    pub async fn from_uploads(
        &self,
        user: &str,
        uploads: Vec<String>,
        options: JobOptions,
        idempotency_key: Option<String>,
    ) -> Result<Created, ServiceError> {
        if uploads.is_empty() || uploads.len() > MAX_UPLOADS_PER_JOB {
            return Err(ServiceError::refused(
                ErrorCode::InvalidRequest,
                format!("`source.uploads` needs 1 to {MAX_UPLOADS_PER_JOB} upload ids"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        let mut items = Vec::with_capacity(uploads.len());
        let now = now_millis();
        for id in &uploads {
            if !seen.insert(id.as_str()) {
                return Err(ServiceError::refused(
                    ErrorCode::InvalidRequest,
                    format!("upload {id} is named twice"),
                ));
            }
            let upload = self.store.upload(id, user).await?.ok_or_else(|| {
                ServiceError::refused(ErrorCode::NotFound, format!("no upload {id}"))
            })?;
            items.push(upload_item(upload, now)?);
        }
        let new = NewJob {
            items,
            ..job(user, JobKind::Process, options, idempotency_key)
        };
        self.store
            .create_job_from_uploads(new, &uploads, now)
            .await
            .map_err(|e| match e {
                // Another submit consumed one of them between the checks and the job.
                StoreError::Conflict(detail) => {
                    ServiceError::refused(ErrorCode::UploadConsumed, detail)
                }
                other => other.into(),
            })
    }

    /// A `noop` job of `count` synthetic items, each sleeping `sleep_ms` (at most 60 s).
    pub async fn noop(
        &self,
        user: &str,
        spec: NoopSpec,
        options: JobOptions,
        idempotency_key: Option<String>,
    ) -> Result<Created, ServiceError> {
        self.check_notify_url(&options).await?;
        let count = spec
            .count
            .filter(|c| (1..=NOOP_MAX_ITEMS).contains(c))
            .ok_or_else(|| {
                ServiceError::refused(
                    ErrorCode::InvalidRequest,
                    format!("a `noop` job needs `source.count` between 1 and {NOOP_MAX_ITEMS}"),
                )
            })?;
        let payload = ItemPayload::Noop {
            sleep_ms: spec.sleep_ms.map(|ms| ms.min(NOOP_MAX_SLEEP_MS)),
        };
        let items = (0..count)
            .map(|i| NewItem {
                name: format!("noop-{i:07}"),
                payload: payload.clone(),
            })
            .collect();
        let new = NewJob {
            items,
            ..job(user, JobKind::Noop, options, idempotency_key)
        };
        Ok(self.store.create_job(new, now_millis()).await?)
    }
}

/// The item of a finished, unconsumed, unexpired upload.
fn upload_item(upload: ResumableUpload, now: Millis) -> Result<NewItem, ServiceError> {
    let id = &upload.id;
    if upload.job_id.is_some() {
        return Err(ServiceError::refused(
            ErrorCode::UploadConsumed,
            format!("upload {id} was submitted already"),
        ));
    }
    if upload.is_expired(now) {
        return Err(ServiceError::refused(
            ErrorCode::UploadExpired,
            format!("upload {id} has expired or was terminated"),
        ));
    }
    let sha256 = match (&upload.sha256, upload.is_finished()) {
        (Some(sha256), true) => sha256.clone(),
        _ => {
            return Err(ServiceError::refused(
                ErrorCode::UploadIncomplete,
                format!(
                    "upload {id} has {} of its {} bytes; finish it before submitting",
                    upload.received, upload.length
                ),
            ))
        }
    };
    Ok(NewItem {
        name: upload.name,
        payload: ItemPayload::Upload {
            blob: upload.blob,
            size: u64::try_from(upload.length).unwrap_or(0),
            sha256,
        },
    })
}

fn job(user: &str, kind: JobKind, options: JobOptions, key: Option<String>) -> NewJob {
    NewJob {
        id: None,
        user: user.to_owned(),
        kind,
        options,
        idempotency_key: key,
        items: Vec::new(),
        source: None,
    }
}

/// The files of one upload so far. Dropped unfinished, it removes what it stored.
pub struct Upload {
    submission: Submission,
    id: String,
    items: Vec<NewItem>,
    bytes: u64,
    /// Whether anything may have been written under the job's prefix (cleared once the job
    /// owns its files, or they are removed).
    stored_any: bool,
}

impl Upload {
    pub fn job_id(&self) -> &str {
        &self.id
    }

    pub fn files(&self) -> usize {
        self.items.len()
    }

    /// Bytes stored so far, all files together.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Streams one file into the blob store, within what is left of the upload limit.
    pub async fn add_file<S, E>(&mut self, name: String, body: S) -> Result<(), ServiceError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let key = blob_keys::upload(&self.id, self.items.len());
        let limit = self.submission.upload_limit.saturating_sub(self.bytes);
        self.stored_any = true;
        let stored = self.submission.blobs.put_stream(&key, body, limit).await?;
        self.bytes += stored.size;
        self.items.push(NewItem {
            name,
            payload: ItemPayload::Upload {
                blob: stored.key,
                size: stored.size,
                sha256: stored.sha256,
            },
        });
        Ok(())
    }

    /// Creates the `process` job over the uploaded files. On any failure, and when an earlier
    /// submit with the same key wins, the files are removed.
    pub async fn finish(
        mut self,
        user: &str,
        options: JobOptions,
        idempotency_key: Option<String>,
    ) -> Result<Created, ServiceError> {
        if self.items.is_empty() {
            self.abandon().await;
            return Err(ServiceError::refused(
                ErrorCode::EmptyUpload,
                "the upload has no files: send one `files` part per file",
            ));
        }
        if self.bytes == 0 {
            self.abandon().await;
            return Err(ServiceError::refused(
                ErrorCode::EmptyUpload,
                "every uploaded file is empty",
            ));
        }
        if let Err(e) = self.submission.check_notify_url(&options).await {
            self.abandon().await;
            return Err(e);
        }
        let new = NewJob {
            id: Some(self.id.clone()),
            items: std::mem::take(&mut self.items),
            ..job(user, JobKind::Process, options, idempotency_key)
        };
        let created = self.submission.store.create_job(new, now_millis()).await;
        match created {
            Ok(created) if created.created => {
                self.stored_any = false;
                Ok(created)
            }
            Ok(replayed) => {
                // Lost a race with a concurrent submit under the same key: drop this upload.
                self.abandon().await;
                Ok(replayed)
            }
            Err(e) => {
                self.abandon().await;
                Err(e.into())
            }
        }
    }

    /// Removes what this upload stored (retried in the background until it succeeds).
    pub async fn abandon(mut self) {
        if self.stored_any {
            self.stored_any = false;
            remove_uploads(&self.submission.blobs, &self.id).await;
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // A client that goes away mid-upload drops the request's future, and this with it.
        if self.stored_any {
            remove_uploads_later(&self.submission.blobs, &self.id);
        }
    }
}
