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
use docket_blobs::{BlobError, Blobs, ObjectUpload, ResumableSha256, WriterLease};
use docket_core::{blob_keys, now_millis, ErrorCode, Millis, UploadId};
use docket_store::prelude::*;
use docket_store::{NewResumableUpload, ResumableUpload, UploadAdvance};
use futures::Stream;

use crate::ServiceError;

/// How long a `PATCH` on object storage holds its upload without renewing (it renews with
/// every part and every few seconds). A writer killed mid-`PATCH` blocks its upload this long.
const WRITER_LEASE: Duration = Duration::from_secs(30);

/// How long a `PATCH` waits for another one to let go of its upload before answering 409. A
/// client that lost its connection and comes back with a new request usually finds the old
/// request still ending on the server: it is served after a short wait, not refused.
const HOLD_WAIT: Duration = Duration::from_secs(5);
const HOLD_RETRY: Duration = Duration::from_millis(50);

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
                "this server's blob store cannot hold resumable uploads: submit with a \
                 multipart upload instead",
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
        let mut object_state = None;
        if request.length == 0 {
            // Finished at once: its (empty) file must exist for the item that reads it.
            if self.blobs.writes_in_place() {
                self.blobs.resumable(&blob).await?;
            } else {
                self.blobs.put(&blob, Bytes::new()).await?;
            }
        } else if !self.blobs.writes_in_place() {
            object_state = Some(self.blobs.start_object_upload(&blob).await?);
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
            blob: blob.clone(),
            object_state: object_state.as_ref().map(ObjectUpload::to_json),
            expires_at: self.expires_at(now),
        };
        match self.store.create_upload(new, now).await {
            Ok(upload) => Ok(upload),
            Err(e) => {
                if let Some(state) = &object_state {
                    self.blobs.abort_object_upload(&blob, state).await;
                }
                Err(e.into())
            }
        }
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
        if !self.blobs.writes_in_place() {
            return self.append_object(user, id, offset, body, checksum).await;
        }
        let waiting = std::time::Instant::now();
        let mut writer = loop {
            match self.blobs.resumable(&before.blob).await {
                Err(BlobError::Busy(_)) if waiting.elapsed() < HOLD_WAIT => {
                    tokio::time::sleep(HOLD_RETRY).await;
                }
                Err(BlobError::Busy(_)) => return Err(busy(id)),
                other => break other?,
            }
        };
        // Under the writer's lock, the offset cannot move any more: check it again.
        let before = self.status(user, id).await?;
        check_offset(&before, offset)?;
        let left = u64::try_from(before.length - before.received).unwrap_or(0);
        let hasher = ResumableSha256::from_state(&before.hash_state)?;
        let appended = match writer.append(offset, hasher, body, left, checksum).await {
            Ok(appended) => appended,
            Err(e) => return Err(append_error(e, checksum.is_some(), left)),
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
            object_state: None,
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

    /// [`Resumable::append`] on object storage: the upload is held for this request (there
    /// is no file to lock), its bytes go into the upload's S3 multipart upload, and the new
    /// state is stored with the offset. The last `PATCH` completes the multipart upload.
    async fn append_object<S, E>(
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
        let lease = StoreLease {
            store: self.store.clone(),
            upload: id.to_owned(),
            writer: UploadId::generate().to_string(),
        };
        let waiting = std::time::Instant::now();
        while !lease.renew().await {
            if waiting.elapsed() >= HOLD_WAIT {
                return Err(busy(id));
            }
            tokio::time::sleep(HOLD_RETRY).await;
        }
        let result = self
            .append_object_held(user, id, offset, body, checksum, &lease)
            .await;
        if let Err(e) = self.store.release_upload(id, &lease.writer).await {
            tracing::warn!(upload = %id, error = %e, "releasing an upload failed; its hold lapses");
        }
        result
    }

    async fn append_object_held<S, E>(
        &self,
        user: &str,
        id: &str,
        offset: u64,
        body: S,
        checksum: Option<[u8; 32]>,
        lease: &StoreLease,
    ) -> Result<ResumableUpload, ServiceError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        // Held now, the offset cannot move any more: check it again.
        let before = self.status(user, id).await?;
        check_offset(&before, offset)?;
        let state = ObjectUpload::from_json(before.object_state.as_deref().unwrap_or_default())?;
        let length = u64::try_from(before.length).unwrap_or(0);
        let hasher = ResumableSha256::from_state(&before.hash_state)?;
        let appended = self
            .blobs
            .append_object(
                &before.blob,
                &state,
                offset,
                length,
                hasher,
                body,
                checksum,
                lease,
            )
            .await;
        let docket_blobs::ObjectAppended {
            appended,
            state: after,
        } = match appended {
            Ok(appended) => appended,
            Err(e) => {
                return Err(append_error(
                    e,
                    checksum.is_some(),
                    length.saturating_sub(offset),
                ))
            }
        };
        let to = offset + appended.bytes;
        let finished = to == length;
        let sha256 = finished.then(|| appended.hasher.finalize_hex());
        let hash_state = appended.hasher.to_state();
        let object_state = after.to_json();
        let now = now_millis();
        let advance = UploadAdvance {
            from: offset,
            to,
            hash_state: &hash_state,
            sha256: sha256.as_deref(),
            expires_at: self.expires_at(now),
            object_state: Some(&object_state),
        };
        if appended.bytes > 0 {
            if !self.store.advance_upload(id, advance, now).await? {
                if let Some(staged) = after.staged() {
                    let _ = self.blobs.delete(staged).await;
                }
                return Err(ServiceError::refused(
                    ErrorCode::UploadExpired,
                    format!("upload {id} expired or was terminated during this request"),
                ));
            }
            // The stored state no longer names the staged bytes it started from.
            if let Some(old) = state.staged().filter(|old| Some(*old) != after.staged()) {
                if let Err(e) = self.blobs.delete(old).await {
                    tracing::warn!(upload = %id, error = %e, "removing staged bytes failed; they go with the upload");
                }
            }
            if finished {
                self.blobs
                    .complete_object_upload(&before.blob, &after, length)
                    .await?;
            }
        }
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
        if !upload.is_finished() {
            if let Some(Ok(state)) = upload.object_state.as_deref().map(ObjectUpload::from_json) {
                self.blobs.abort_object_upload(&upload.blob, &state).await;
            }
        }
        self.blobs
            .remove_resumable(&blob_keys::resumable_upload_prefix(&upload.id))
            .await?;
        self.store.forget_upload(&upload.id, now).await?;
        Ok(())
    }
}

/// A finished upload's file as one object (see [`Blobs::complete_object_upload`]); nothing
/// to do for one written in place.
pub(crate) async fn make_whole(
    blobs: &Blobs,
    upload: &ResumableUpload,
) -> Result<(), ServiceError> {
    let Some(state) = upload.object_state.as_deref() else {
        return Ok(());
    };
    if !upload.is_finished() {
        return Ok(());
    }
    let state = ObjectUpload::from_json(state)?;
    let length = u64::try_from(upload.length).unwrap_or(0);
    blobs
        .complete_object_upload(&upload.blob, &state, length)
        .await?;
    Ok(())
}

/// The hold of one `PATCH` on its upload, in the database every process shares.
struct StoreLease {
    store: Arc<dyn Store>,
    upload: String,
    writer: String,
}

#[async_trait::async_trait]
impl WriterLease for StoreLease {
    async fn renew(&self) -> bool {
        let now = now_millis();
        let until = now.saturating_add(i64::try_from(WRITER_LEASE.as_millis()).unwrap_or(i64::MAX));
        match self
            .store
            .hold_upload(&self.upload, &self.writer, until, now)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(upload = %self.upload, error = %e, "renewing an upload's hold failed");
                false
            }
        }
    }
}

fn busy(id: &str) -> ServiceError {
    ServiceError::refused(
        ErrorCode::OffsetMismatch,
        format!("upload {id} is being written by another request; ask its offset again"),
    )
}

/// What a failed append means for the client.
fn append_error(e: BlobError, has_checksum: bool, left: u64) -> ServiceError {
    match e {
        BlobError::ChecksumMismatch => ServiceError::refused(
            ErrorCode::ChecksumMismatch,
            "the data does not match its Upload-Checksum; none of it was stored",
        ),
        BlobError::TooLarge { .. } => ServiceError::refused(
            ErrorCode::PayloadTooLarge,
            format!("the data goes past the upload's length; {left} bytes are left"),
        ),
        BlobError::Busy(key) => ServiceError::refused(
            ErrorCode::OffsetMismatch,
            format!("{key} was taken over by another request; ask its offset again"),
        ),
        BlobError::Upload(why) if has_checksum => interrupted(&why),
        e => e.into(),
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
