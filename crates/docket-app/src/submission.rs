//! Submitting jobs: uploads, server folders, synthetic `noop` jobs, idempotent replays.

use std::path::PathBuf;
use std::sync::Arc;

use docket_blobs::Blobs;
use docket_core::{
    now_millis, ErrorCode, ItemPayload, Job, JobKind, JobOptions, JobSource, Millis,
};
use docket_notify::WebhookPolicy;
use docket_store::prelude::*;
use docket_store::{Created, NewItem, NewJob, ResumableUpload, StoreError};

use crate::folder::allowed_folder;
use crate::{ServiceError, Upload, UploadLimits};

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
    limits: UploadLimits,
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
        limits: UploadLimits,
    ) -> Submission {
        Submission {
            store,
            blobs,
            allowed_roots,
            limits,
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

    pub fn limits(&self) -> UploadLimits {
        self.limits
    }

    /// Checks what only this server can know of `options` (the core checks the rest when they
    /// are parsed): that its `notify_url` is allowed and the OCR languages it names are installed.
    pub async fn check_options(&self, options: &JobOptions) -> Result<(), ServiceError> {
        self.check_notify_url(options).await?;
        if let Some(ocr) = &options.ocr {
            crate::languages::check_installed(&ocr.languages).await?;
        }
        Ok(())
    }

    /// Refuses at once a request that says it is larger than an upload may be, before any
    /// of it is read.
    pub fn check_declared_size(&self, bytes: u64) -> Result<(), ServiceError> {
        if bytes > self.limits.max_upload_bytes {
            return Err(crate::upload::upload_too_large(
                self.limits.max_upload_bytes,
            ));
        }
        Ok(())
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    /// The job an earlier submit with this idempotency key created, if any.
    pub async fn replay(&self, user: &str, key: &str) -> Result<Option<Job>, ServiceError> {
        Ok(self
            .store
            .job_by_idempotency_key(user, key, now_millis())
            .await?)
    }

    /// Starts an upload by `user`: files are streamed into blobs under a fresh job id as they
    /// arrive. If the upload is dropped before [`Upload::finish`], its files are removed. A
    /// user whose storage quota is already used up is refused here, before anything is read.
    pub async fn upload(&self, user: &str) -> Result<Upload, ServiceError> {
        let quota_left = match self.limits.storage_quota_bytes {
            Some(quota) => {
                // Open resumable uploads claim their whole length already.
                let used = self.store.storage_used(user).await?
                    + self.store.open_upload_bytes(user, now_millis()).await?;
                if used >= quota {
                    return Err(crate::upload::quota_exceeded(quota, used));
                }
                Some((quota - used, quota, used))
            }
            None => None,
        };
        Ok(Upload::start(self.clone(), user, quota_left))
    }

    /// Checks that `path` is a folder under an allowed root, as a folder submit does.
    pub async fn check_folder(&self, path: PathBuf) -> Result<(), ServiceError> {
        allowed_folder(self.allowed_roots.to_vec(), path)
            .await
            .map(|_| ())
    }

    /// A `process` job over a folder on the server, listed later by the job itself.
    pub async fn folder(
        &self,
        user: &str,
        path: PathBuf,
        options: JobOptions,
        idempotency_key: Option<String>,
    ) -> Result<Created, ServiceError> {
        self.check_options(&options).await?;
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
        self.check_options(&options).await?;
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
            let whole = upload.clone();
            items.push(upload_item(upload, now)?);
            // On object storage the file is one object only once its multipart upload is
            // completed: done by its last PATCH, unless that was cut short.
            crate::resumable::make_whole(&self.blobs, &whole).await?;
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
        let count = spec
            .count
            .filter(|c| (1..=NOOP_MAX_ITEMS).contains(c))
            .ok_or_else(|| {
                ServiceError::refused(
                    ErrorCode::InvalidRequest,
                    format!("a `noop` job needs `source.count` between 1 and {NOOP_MAX_ITEMS}"),
                )
            })?;
        self.check_options(&options).await?;
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

pub(crate) fn job(user: &str, kind: JobKind, options: JobOptions, key: Option<String>) -> NewJob {
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
