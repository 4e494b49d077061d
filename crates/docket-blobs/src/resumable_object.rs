//! Resumable uploads on object storage (S3), where nothing can be appended in place: the file
//! is one S3 multipart upload, filled with parts of [`PART`] bytes as `PATCH`es bring them.
//!
//! A `PATCH` may stop anywhere, but S3 wants every part but the last to be at least 5 MiB.
//! So the bytes after the last full part (fewer than a part) are kept in a small *staged*
//! object, read back and continued by the next `PATCH`. What a `PATCH` acknowledges is an
//! [`ObjectUpload`] state (multipart id, the full parts' ids, the staged object) that the
//! caller stores with the offset, in the same statement; a state never stored is as if it never
//! happened. That is why parts are numbered by their place in the file (part `i` holds bytes
//! `i × PART ..`): a part written but never acknowledged is simply written again, under the
//! same number, by the `PATCH` that resends its bytes. And why a staged object's key carries
//! the offset it ends at: a new one never overwrites the one the stored state names.
//!
//! Parts under one number from two writers at once would corrupt the file, so a writer holds a
//! lease (see [`WriterLease`]) and renews it before every part it writes.
//!
//! The multipart upload is completed only after the state that holds its last part is stored
//! ([`Blobs::complete_object_upload`]); completing again is harmless, so a crash between the
//! two is repaired by whoever next needs the file.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::PutPayload;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Appended, BlobError, Blobs, ResumableSha256, PART};

/// A writer that sends nothing for this long renews its lease anyway (slow clients).
const RENEW_EVERY: Duration = Duration::from_secs(10);

/// Where a resumable upload on object storage stands; stored (as JSON) with its offset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectUpload {
    /// The S3 multipart upload its parts belong to.
    multipart: String,
    /// Ids (ETags) of the full parts written and acknowledged, part `i` at index `i`.
    parts: Vec<String>,
    /// The object holding the bytes after the last full part, if there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    staged: Option<String>,
}

impl ObjectUpload {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<ObjectUpload, BlobError> {
        serde_json::from_str(text)
            .map_err(|e| BlobError::Upload(format!("the stored upload state is unreadable: {e}")))
    }

    /// The staged object this state names, which a newer state may replace.
    pub fn staged(&self) -> Option<&str> {
        self.staged.as_deref()
    }
}

/// The right to write one upload, held by one request at a time across every process.
#[async_trait::async_trait]
pub trait WriterLease: Send + Sync {
    /// Extends the hold; `false` if it was lost (it lapsed and another request took it), after
    /// which the writer must stop without writing another part.
    async fn renew(&self) -> bool;
}

/// What one append to an object-storage upload stored.
#[derive(Debug)]
pub struct ObjectAppended {
    pub appended: Appended,
    /// The state to store with the new offset.
    pub state: ObjectUpload,
}

/// The S3 client behind a bucket (and prefix) store: multipart calls need it directly.
#[derive(Clone)]
pub(crate) struct PartStore {
    pub(crate) s3: object_store::aws::AmazonS3,
    /// The key prefix in the bucket (without slashes at either end), or empty.
    pub(crate) prefix: String,
}

impl PartStore {
    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Writes the next part (number `parts.len()`) of the upload at `key`, if the writer still
    /// holds the upload, and adds its id to `parts`.
    async fn put_part(
        &self,
        key: &str,
        multipart: &str,
        parts: &mut Vec<String>,
        data: Bytes,
        lease: &dyn WriterLease,
    ) -> Result<(), BlobError> {
        if !lease.renew().await {
            return Err(BlobError::Busy(key.to_owned()));
        }
        let id = self
            .s3
            .put_part(
                &self.path(key),
                &multipart.to_owned(),
                parts.len(),
                PutPayload::from(data),
            )
            .await?;
        parts.push(id.content_id);
        Ok(())
    }
}

impl Blobs {
    fn part_store(&self) -> Result<&PartStore, BlobError> {
        self.parts.as_ref().ok_or_else(|| {
            BlobError::Unsupported("this blob store has no multipart uploads".to_owned())
        })
    }

    /// Starts the object-storage upload of the file at `key`.
    pub async fn start_object_upload(&self, key: &str) -> Result<ObjectUpload, BlobError> {
        let parts = self.part_store()?;
        let multipart = parts.s3.create_multipart(&parts.path(key)).await?;
        Ok(ObjectUpload {
            multipart,
            parts: Vec::new(),
            staged: None,
        })
    }

    /// Appends `body` to the upload of `length` bytes at `key` whose acknowledged state is
    /// `state` at `offset`. Checks the body against `checksum` (SHA-256) as
    /// [`crate::ResumableWriter::append`] does. When the last byte arrives the last part is
    /// written, but the file is whole only after [`Blobs::complete_object_upload`].
    #[allow(clippy::too_many_arguments)]
    pub async fn append_object<S, E>(
        &self,
        key: &str,
        state: &ObjectUpload,
        offset: u64,
        length: u64,
        mut hasher: ResumableSha256,
        mut body: S,
        checksum: Option<[u8; 32]>,
        lease: &dyn WriterLease,
    ) -> Result<ObjectAppended, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let store = self.part_store()?;
        let mut buffer = BytesMut::with_capacity(PART);
        if let Some(staged) = &state.staged {
            buffer.extend_from_slice(&self.get(staged).await?);
        }
        let held = state.parts.len() as u64 * PART as u64 + buffer.len() as u64;
        if held != offset || buffer.len() >= PART {
            return Err(BlobError::Upload(format!(
                "{key} holds {held} bytes, not the {offset} acknowledged"
            )));
        }
        let max = length.saturating_sub(offset);
        let mut parts = state.parts.clone();
        let mut part_hash = checksum.map(|_| Sha256::new());
        let mut written: u64 = 0;
        let mut interrupted = None;
        let mut renewed = Instant::now();
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    interrupted = Some(e.to_string());
                    break;
                }
            };
            if written + chunk.len() as u64 > max {
                return Err(BlobError::TooLarge { limit: max });
            }
            written += chunk.len() as u64;
            hasher.update(&chunk);
            if let Some(part_hash) = part_hash.as_mut() {
                part_hash.update(&chunk);
            }
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let take = (PART - buffer.len()).min(rest.len());
                buffer.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if buffer.len() == PART {
                    let part = buffer.split().freeze();
                    store
                        .put_part(key, &state.multipart, &mut parts, part, lease)
                        .await?;
                    renewed = Instant::now();
                }
            }
            if renewed.elapsed() >= RENEW_EVERY {
                if !lease.renew().await {
                    return Err(BlobError::Busy(key.to_owned()));
                }
                renewed = Instant::now();
            }
        }
        if let (Some(expected), Some(part_hash)) = (checksum, part_hash) {
            if let Some(why) = interrupted {
                return Err(BlobError::Upload(why));
            }
            if part_hash.finalize().as_slice() != expected {
                return Err(BlobError::ChecksumMismatch);
            }
        }
        if written == 0 {
            return Ok(ObjectAppended {
                appended: Appended {
                    bytes: 0,
                    hasher,
                    interrupted,
                },
                state: state.clone(),
            });
        }
        let to = offset + written;
        let staged = if to == length {
            // The last part may be short; a file of whole parts has none left over.
            if !buffer.is_empty() || parts.is_empty() {
                let part = buffer.split().freeze();
                store
                    .put_part(key, &state.multipart, &mut parts, part, lease)
                    .await?;
            }
            None
        } else if buffer.is_empty() {
            None
        } else {
            let staged = format!("{key}-staged-{to}");
            self.put(&staged, buffer.freeze()).await?;
            Some(staged)
        };
        Ok(ObjectAppended {
            appended: Appended {
                bytes: written,
                hasher,
                interrupted,
            },
            state: ObjectUpload {
                multipart: state.multipart.clone(),
                parts,
                staged,
            },
        })
    }

    /// Makes the finished upload at `key` (`length` bytes, every part in `state`) one object.
    /// Done already is fine: this repairs a crash between storing the state and completing.
    pub async fn complete_object_upload(
        &self,
        key: &str,
        state: &ObjectUpload,
        length: u64,
    ) -> Result<(), BlobError> {
        if matches!(self.size(key).await, Ok(size) if size == length) {
            return Ok(());
        }
        let store = self.part_store()?;
        let parts = state
            .parts
            .iter()
            .map(|id| PartId {
                content_id: id.clone(),
            })
            .collect();
        match store
            .s3
            .complete_multipart(&store.path(key), &state.multipart, parts)
            .await
        {
            Ok(_) => Ok(()),
            // Completed by someone else in the meantime.
            Err(_) if matches!(self.size(key).await, Ok(size) if size == length) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives up the multipart upload of an unfinished upload (S3 bills for its parts). Its
    /// objects (the staged bytes) go with [`Blobs::remove_resumable`].
    pub async fn abort_object_upload(&self, key: &str, state: &ObjectUpload) {
        if let Ok(store) = self.part_store() {
            // Completed or aborted already: nothing to give up.
            let _ = store
                .s3
                .abort_multipart(&store.path(key), &state.multipart)
                .await;
        }
    }
}
