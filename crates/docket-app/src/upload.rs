//! One upload: its files streamed into blobs under a fresh job id as they arrive, within the
//! per-file limit, the upload limit and the user's quota, then made into a job. Dropped
//! unfinished, it removes what it stored.

use bytes::{Bytes, BytesMut};
use docket_blobs::{BlobError, Blobs, PackWriter};
use docket_core::{blob_keys, now_millis, ErrorCode, ItemPayload, JobId, JobKind, JobOptions};
use docket_store::{Created, NewItem, NewJob};
use futures::{Stream, StreamExt};

use crate::cleanup::{remove_uploads, remove_uploads_later};
use crate::submission::job;
use crate::{ServiceError, Submission};

/// How much one upload, one file and one user may store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Largest file. The pipeline refuses to process a larger one, so an upload is refused
    /// the moment one of its files passes it, before it is stored.
    pub max_file_bytes: u64,
    /// Largest upload, all files together.
    pub max_upload_bytes: u64,
    /// Bytes of uploads each user may keep stored (`None`: no quota).
    pub storage_quota_bytes: Option<u64>,
}

impl UploadLimits {
    /// Files of up to `bytes` each, uploads of up to `bytes` in all, no quota.
    pub fn uniform(bytes: u64) -> UploadLimits {
        UploadLimits {
            max_file_bytes: bytes,
            max_upload_bytes: bytes,
            storage_quota_bytes: None,
        }
    }
}

pub(crate) fn upload_too_large(limit: u64) -> ServiceError {
    ServiceError::refused(
        ErrorCode::PayloadTooLarge,
        format!("the upload exceeds the limit of {limit} bytes for all its files together"),
    )
}

fn file_too_large(name: &str, limit: u64) -> ServiceError {
    ServiceError::refused(
        ErrorCode::PayloadTooLarge,
        format!(
            "`{name}` exceeds the per-file limit of {limit} bytes (the largest file Docket \
             processes); nothing of this upload was kept"
        ),
    )
}

pub(crate) fn quota_exceeded(quota: u64, used: u64) -> ServiceError {
    ServiceError::refused(
        ErrorCode::QuotaExceeded,
        format!(
            "the upload would exceed your storage quota of {quota} bytes ({used} bytes are \
             used; delete finished jobs to free space)"
        ),
    )
}

/// A file of at most this size is read whole and appended to the upload's pack (one blob for
/// all of them, each file a range of it); a larger one is streamed into a blob of its own.
/// A blob per small file made an upload of thousands wait on the file system: creating a
/// file costs far more than writing a few KB (BENCHMARKS.md, submit latency).
const SMALL_FILE: usize = 256 * 1024;

/// The files of one upload so far. Dropped unfinished, it removes what it stored.
pub struct Upload {
    submission: Submission,
    user: String,
    id: String,
    items: Vec<NewItem>,
    bytes: u64,
    /// With a quota: what was left of it when the upload started, the quota, and what was used.
    quota_left: Option<(u64, u64, u64)>,
    /// Whether anything may have been written under the job's prefix (cleared once the job
    /// owns its files, or they are removed).
    stored_any: bool,
    /// The pack the small files go into, once there is one.
    pack: Option<PackWriter>,
}

impl Upload {
    pub(crate) fn start(
        submission: Submission,
        user: &str,
        quota_left: Option<(u64, u64, u64)>,
    ) -> Upload {
        Upload {
            submission,
            user: user.to_owned(),
            id: JobId::generate().to_string(),
            items: Vec::new(),
            bytes: 0,
            quota_left,
            stored_any: false,
            pack: None,
        }
    }

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

    /// Refuses at once a file that says (by its part's `Content-Length`) it is larger than
    /// this upload may still take.
    pub fn check_declared_file(&self, name: &str, bytes: u64) -> Result<(), ServiceError> {
        let (limit, bound) = self.bound();
        if bytes > limit {
            return Err(self.refusal(bound, name));
        }
        Ok(())
    }

    /// The most the next file may hold, and which limit says so.
    fn bound(&self) -> (u64, Bound) {
        let limits = self.submission.limits();
        let mut bound = (limits.max_file_bytes, Bound::File);
        let upload_left = limits.max_upload_bytes.saturating_sub(self.bytes);
        if upload_left < bound.0 {
            bound = (upload_left, Bound::Upload);
        }
        if let Some((left, ..)) = self.quota_left {
            let left = left.saturating_sub(self.bytes);
            if left < bound.0 {
                bound = (left, Bound::Quota);
            }
        }
        bound
    }

    fn refusal(&self, bound: Bound, name: &str) -> ServiceError {
        let limits = self.submission.limits();
        match (bound, self.quota_left) {
            (Bound::File, _) => file_too_large(name, limits.max_file_bytes),
            (Bound::Quota, Some((_, quota, used))) => quota_exceeded(quota, used),
            _ => upload_too_large(limits.max_upload_bytes),
        }
    }

    /// Streams one file into the blob store, within the per-file limit and what is left of the
    /// upload limit and the user's quota; past them, it stops reading at once.
    pub async fn add_file<S, E>(&mut self, name: String, body: S) -> Result<(), ServiceError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let key = blob_keys::upload(&self.id, self.items.len());
        let (limit, bound) = self.bound();
        self.stored_any = true;
        // Read the start of the file: if it ends within SMALL_FILE, it is whole.
        let mut body = body;
        let mut head = BytesMut::new();
        let mut ended = false;
        while head.len() <= SMALL_FILE {
            match body.next().await {
                Some(Ok(chunk)) => {
                    if (head.len() + chunk.len()) as u64 > limit {
                        return Err(self.refusal(bound, &name));
                    }
                    head.extend_from_slice(&chunk);
                }
                Some(Err(e)) => return Err(BlobError::Upload(e.to_string()).into()),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        if ended {
            let stored = Blobs::stored_whole(&key, &head);
            let pack = match &mut self.pack {
                Some(pack) => pack,
                None => {
                    let key = blob_keys::upload_pack(&self.id);
                    self.pack.insert(self.submission.blobs().pack(&key).await?)
                }
            };
            let offset = pack.append(&head).await?;
            self.bytes += stored.size;
            self.items.push(NewItem {
                name,
                payload: ItemPayload::PackedUpload {
                    blob: pack.key().to_owned(),
                    offset,
                    size: stored.size,
                    sha256: stored.sha256,
                },
            });
            return Ok(());
        }
        let stored = {
            let head = futures::stream::iter([Ok::<Bytes, E>(head.freeze())]);
            match self
                .submission
                .blobs()
                .put_stream(&key, head.chain(body), limit)
                .await
            {
                Ok(stored) => stored,
                Err(BlobError::TooLarge { .. }) => return Err(self.refusal(bound, &name)),
                Err(e) => return Err(e.into()),
            }
        };
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

    /// Makes the pack of small files whole, if there is one.
    async fn all_written(&mut self) -> Result<(), ServiceError> {
        if let Some(pack) = self.pack.take() {
            pack.finish().await?;
        }
        Ok(())
    }

    /// Creates the `process` job over the uploaded files. On any failure, and when an earlier
    /// submit with the same key wins, the files are removed.
    pub async fn finish(
        mut self,
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
        if let Err(refused) = self.submission.check_options(&options).await {
            self.abandon().await;
            return Err(refused);
        }
        if let Err(failed) = self.all_written().await {
            self.abandon().await;
            return Err(failed);
        }
        let new = NewJob {
            id: Some(self.id.clone()),
            items: std::mem::take(&mut self.items),
            ..job(&self.user, JobKind::Process, options, idempotency_key)
        };
        let created = self.submission.store().create_job(new, now_millis()).await;
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
        if let Some(pack) = self.pack.take() {
            pack.abort().await;
        }
        if self.stored_any {
            self.stored_any = false;
            remove_uploads(self.submission.blobs(), &self.id).await;
        }
    }
}

/// Which limit stops a file.
#[derive(Debug, Clone, Copy)]
enum Bound {
    File,
    Upload,
    Quota,
}

impl Drop for Upload {
    fn drop(&mut self) {
        // A client that goes away mid-upload drops the request's future, and this with it.
        if self.stored_any {
            // An unfinished pack is given up first (on S3 its parts would linger), then
            // the files go.
            let pack = self.pack.take();
            let blobs = self.submission.blobs().clone();
            let id = self.id.clone();
            match (pack, tokio::runtime::Handle::try_current()) {
                (Some(pack), Ok(runtime)) => {
                    runtime.spawn(async move {
                        pack.abort().await;
                        remove_uploads_later(&blobs, &id);
                    });
                }
                _ => remove_uploads_later(&blobs, &id),
            }
        }
    }
}
