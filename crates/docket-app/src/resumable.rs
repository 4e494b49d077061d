//! Resumable uploads (tus 1.0 at the HTTP edge): created with their length, filled by appends
//! at the acknowledged offset, ended by termination or expiry. The API parses tus headers and
//! calls this; no HTTP here.
//!
//! An append is acknowledged (the stored offset moves) only once its bytes are flushed to disk
//! and the hash state after them is stored with the offset, in one statement. The running
//! SHA-256 state is persisted on every append rather than recomputed: recomputing after a
//! restart would read back up to the whole file, and the state is under a hundred bytes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use docket_blobs::{BlobError, Blobs, ResumableSha256};
use docket_core::{blob_keys, now_millis, ErrorCode, Millis, UploadId};
use docket_store::prelude::*;
use docket_store::{NewResumableUpload, ResumableUpload, UploadAdvance};
use futures::Stream;

use crate::ServiceError;

/// The limits of resumable uploads.
#[derive(Debug, Clone, Copy)]
pub struct ResumableConfig {
    /// Largest upload, in bytes (the upload size limit of the configuration).
    pub max_size: u64,
    /// Largest file the pipeline processes: a larger upload could never become an item.
    pub max_file_bytes: u64,
    /// Bytes of uploads each user may keep (`None`: no quota); open uploads count with their
    /// whole length from the moment they are created.
    pub storage_quota_bytes: Option<u64>,
    /// An upload not appended to for this long expires, and is removed with its bytes.
    pub expiry: Duration,
}

/// What a client asks for when it creates an upload.
#[derive(Debug, Clone, Default)]
pub struct UploadRequest {
    pub length: u64,
    /// The file's name (tus metadata `filename`).
    pub name: Option<String>,
    /// tus metadata `filetype`.
    pub media_type: Option<String>,
    /// The metadata as the client sent it, answered back as is.
    pub metadata: String,
}

#[derive(Clone)]
pub struct Resumable {
    store: Arc<dyn Store>,
    blobs: Blobs,
    config: ResumableConfig,
}

/// A name is only ever a display name (files are stored under generated keys): no control
/// characters, bounded.
fn clean(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

impl Resumable {
    pub fn new(store: Arc<dyn Store>, blobs: Blobs, config: ResumableConfig) -> Resumable {
        Resumable {
            store,
            blobs,
            config,
        }
    }

    pub fn config(&self) -> ResumableConfig {
        self.config
    }

    fn expires_at(&self, now: Millis) -> Millis {
        now.saturating_add(i64::try_from(self.config.expiry.as_millis()).unwrap_or(i64::MAX))
    }

    /// Whether `user` may store an upload of `length` bytes: decided before any byte is
    /// stored, against the per-file limit, the upload limit and the user's quota (what their
    /// jobs keep plus the whole length of their open uploads).
    async fn admit(&self, user: &str, length: u64) -> Result<(), ServiceError> {
        if !self.blobs.supports_resumable() {
            return Err(ServiceError::refused(
                ErrorCode::Unavailable,
                "resumable uploads need a directory blob store; this server keeps its files in \
                 object storage: submit with a multipart upload instead",
            ));
        }
        if length > self.config.max_size {
            return Err(ServiceError::refused(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the upload is {length} bytes; the limit is {} bytes",
                    self.config.max_size
                ),
            ));
        }
        if length > self.config.max_file_bytes {
            return Err(ServiceError::refused(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the upload is {length} bytes; the per-file limit (the largest file Docket \
                     processes) is {} bytes",
                    self.config.max_file_bytes
                ),
            ));
        }
        if let Some(quota) = self.config.storage_quota_bytes {
            let used = self.store.storage_used(user).await?
                + self.store.open_upload_bytes(user, now_millis()).await?;
            if used.saturating_add(length) > quota {
                return Err(crate::upload::quota_exceeded(quota, used));
            }
        }
        Ok(())
    }

    /// Creates an upload of `request.length` bytes for `user`.
    pub async fn create(
        &self,
        user: &str,
        request: UploadRequest,
    ) -> Result<ResumableUpload, ServiceError> {
        self.admit(user, request.length).await?;
        let id = UploadId::generate().to_string();
        let name = request
            .name
            .as_deref()
            .and_then(crate::display_name)
            .unwrap_or_else(|| id.clone());
        let media_type = request
            .media_type
            .as_deref()
            .map(|t| clean(t, 255))
            .filter(|t| !t.is_empty());
        let blob = blob_keys::resumable_upload(&id);
        if request.length == 0 {
            // Finished at once: its (empty) file must exist for the item that reads it.
            self.blobs.resumable(&blob).await?;
        }
        let now = now_millis();
        let new = NewResumableUpload {
            id,
            user: user.to_string(),
            length: request.length,
            name,
            media_type,
            metadata: clean(&request.metadata, 4096),
            hash_state: ResumableSha256::new().to_state(),
            blob,
            expires_at: self.expires_at(now),
        };
        Ok(self.store.create_upload(new, now).await?)
    }

    /// `user`'s upload: 404 for none (or another user's), 410 once expired or terminated.
    pub async fn status(&self, user: &str, id: &str) -> Result<ResumableUpload, ServiceError> {
        let upload = self
            .store
            .upload(id, user)
            .await?
            .ok_or_else(|| not_found(id))?;
        if upload.is_expired(now_millis()) {
            return Err(ServiceError::refused(
                ErrorCode::UploadExpired,
                format!("upload {id} has expired or was terminated"),
            ));
        }
        Ok(upload)
    }

    /// Appends `body` to `user`'s upload `id` at `offset`, which must be its current offset.
    /// With `checksum` (SHA-256 of the body), a body that does not match stores nothing. A
    /// body that stops early without a checksum keeps what arrived (and is then refused as
    /// interrupted, after its bytes are acknowledged). Answers the upload after the append.
    pub async fn append<S, E>(
        &self,
        user: &str,
        id: &str,
        offset: u64,
        body: S,
        checksum: Option<[u8; 32]>,
    ) -> Result<ResumableUpload, ServiceError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let before = self.status(user, id).await?;
        check_offset(&before, offset)?;
        let mut writer = match self.blobs.resumable(&before.blob).await {
            Err(BlobError::Busy(_)) => {
                return Err(ServiceError::refused(
                    ErrorCode::OffsetMismatch,
                    format!(
                        "upload {id} is being written by another request; ask its offset again"
                    ),
                ))
            }
            other => other?,
        };
        // Under the writer's lock, the offset cannot move any more: check it again.
        let before = self.status(user, id).await?;
        check_offset(&before, offset)?;
        let left = u64::try_from(before.length - before.received).unwrap_or(0);
        let hasher = ResumableSha256::from_state(&before.hash_state)?;
        let appended = match writer.append(offset, hasher, body, left, checksum).await {
            Ok(appended) => appended,
            Err(BlobError::ChecksumMismatch) => {
                return Err(ServiceError::refused(
                    ErrorCode::ChecksumMismatch,
                    "the data does not match its Upload-Checksum; none of it was stored",
                ))
            }
            Err(BlobError::TooLarge { .. }) => {
                return Err(ServiceError::refused(
                    ErrorCode::PayloadTooLarge,
                    format!("the data goes past the upload's length; {left} bytes are left"),
                ))
            }
            Err(BlobError::Upload(why)) if checksum.is_some() => {
                return Err(interrupted(&why));
            }
            Err(e) => return Err(e.into()),
        };
        let to = offset + appended.bytes;
        let finished = to == u64::try_from(before.length).unwrap_or(u64::MAX);
        let sha256 = finished.then(|| appended.hasher.finalize_hex());
        let state = appended.hasher.to_state();
        let now = now_millis();
        let advance = UploadAdvance {
            from: offset,
            to,
            hash_state: &state,
            sha256: sha256.as_deref(),
            expires_at: self.expires_at(now),
        };
        if appended.bytes > 0 && !self.store.advance_upload(id, advance, now).await? {
            // Terminated or expired while the bytes were arriving.
            return Err(ServiceError::refused(
                ErrorCode::UploadExpired,
                format!("upload {id} expired or was terminated during this request"),
            ));
        }
        drop(writer);
        if let Some(why) = appended.interrupted {
            return Err(interrupted(&why));
        }
        self.status(user, id).await
    }

    /// Terminates `user`'s upload: gone at once for every request, its bytes removed now
    /// (or by the cleaner, if the blob store fails now).
    pub async fn terminate(&self, user: &str, id: &str) -> Result<(), ServiceError> {
        let now = now_millis();
        let upload = self.status(user, id).await?;
        if upload.job_id.is_some() {
            return Err(ServiceError::refused(
                ErrorCode::UploadConsumed,
                format!(
                    "upload {id} belongs to job {}; delete the job instead",
                    upload.job_id.unwrap_or_default()
                ),
            ));
        }
        if !self.store.expire_upload(id, user, now).await? {
            return Err(not_found(id));
        }
        if let Err(e) = self.remove(&upload, now).await {
            tracing::warn!(upload = %id, error = %e, "removing a terminated upload failed; the cleaner retries");
        }
        Ok(())
    }

    /// Removes up to `limit` uploads that expired, were terminated, or whose job is gone,
    /// bytes first, then rows. How many were removed.
    pub async fn remove_removable(&self, limit: u32) -> Result<usize, ServiceError> {
        let now = now_millis();
        let removable = self.store.removable_uploads(now, limit).await?;
        for upload in &removable {
            self.remove(upload, now).await?;
        }
        Ok(removable.len())
    }

    async fn remove(&self, upload: &ResumableUpload, now: Millis) -> Result<(), ServiceError> {
        self.blobs
            .remove_resumable(&blob_keys::resumable_upload_prefix(&upload.id))
            .await?;
        self.store.forget_upload(&upload.id, now).await?;
        Ok(())
    }
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::refused(ErrorCode::NotFound, format!("no upload {id}"))
}

fn interrupted(why: &str) -> ServiceError {
    ServiceError::refused(
        ErrorCode::UploadInterrupted,
        format!("the data stopped before its end ({why}); ask the offset and continue"),
    )
}

fn check_offset(upload: &ResumableUpload, offset: u64) -> Result<(), ServiceError> {
    if upload.job_id.is_some() {
        return Err(ServiceError::refused(
            ErrorCode::UploadConsumed,
            format!("upload {} was submitted already", upload.id),
        ));
    }
    if i64::try_from(offset).ok() != Some(upload.received) {
        return Err(ServiceError::refused(
            ErrorCode::OffsetMismatch,
            format!(
                "Upload-Offset is {offset}, but upload {} is at {}",
                upload.id, upload.received
            ),
        ));
    }
    Ok(())
}
