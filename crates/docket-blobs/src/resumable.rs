//! Resumable uploads written in place: each `PATCH`'s bytes are appended to the upload's one
//! file at the acknowledged offset, hashed on the way, and flushed to disk before the caller
//! acknowledges them, on a directory store. Object storage has its own way
//! (`resumable_object`).
//!
//! A [`ResumableWriter`] holds an exclusive lock on the file (`flock`), so two `PATCH`es of
//! one upload never write at once, on one process or several; the lock goes with the process,
//! so a writer killed with `kill -9` leaves nothing held. Bytes past the acknowledged offset
//! (written but never acknowledged: a crash, a failed checksum) are cut off before the next
//! write.

use std::io::SeekFrom;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::{BlobError, Blobs, ResumableSha256};

/// Bytes gathered before one write to the file.
const WRITE_BUFFER: usize = 1024 * 1024;

/// What one append stored.
#[derive(Debug)]
pub struct Appended {
    /// Bytes written and flushed to disk.
    pub bytes: u64,
    /// The upload's hash after them.
    pub hasher: ResumableSha256,
    /// Why the body stopped early, if it did (the bytes before are kept: tus asks a server to
    /// keep what it received).
    pub interrupted: Option<String>,
}

/// Exclusive access to one resumable upload's file, for as long as it lives.
pub struct ResumableWriter {
    file: tokio::fs::File,
    key: String,
}

impl Blobs {
    /// Whether this store can hold resumable uploads: a directory store, in place
    /// ([`Blobs::resumable`]), or S3, as multipart uploads ([`Blobs::append_object`]).
    pub fn supports_resumable(&self) -> bool {
        self.local_root.is_some() || self.parts.is_some()
    }

    /// Whether resumable uploads are written in place ([`Blobs::resumable`]) here.
    pub fn writes_in_place(&self) -> bool {
        self.local_root.is_some()
    }

    /// Opens the resumable upload stored at `key` for writing, creating it if need be.
    /// `Busy` when another writer holds it.
    pub async fn resumable(&self, key: &str) -> Result<ResumableWriter, BlobError> {
        let Some(root) = &self.local_root else {
            return Err(BlobError::Unsupported(
                "resumable uploads need a directory blob store; this one is object storage".into(),
            ));
        };
        let path: PathBuf = root.join(key);
        let key = key.to_string();
        let opened = key.clone();
        let file = tokio::task::spawn_blocking(move || -> Result<std::fs::File, BlobError> {
            let key = opened;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(&key, e))?;
            }
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| io(&key, e))?;
            match file.try_lock() {
                Ok(()) => Ok(file),
                Err(std::fs::TryLockError::WouldBlock) => Err(BlobError::Busy(key)),
                Err(std::fs::TryLockError::Error(e)) => Err(io(&key, e)),
            }
        })
        .await
        .map_err(|e| BlobError::Upload(format!("the writer task failed: {e}")))??;
        Ok(ResumableWriter {
            file: tokio::fs::File::from_std(file),
            key,
        })
    }

    /// Removes a resumable upload's file (and its folder). Nothing to remove is fine.
    pub async fn remove_resumable(&self, prefix: &str) -> Result<(), BlobError> {
        self.delete_prefix(prefix).await?;
        if let Some(root) = &self.local_root {
            match tokio::fs::remove_dir(root.join(prefix)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // Not empty: a writer recreated it; the next pass removes it.
                Err(_) => {}
            }
        }
        Ok(())
    }
}

fn io(key: &str, e: std::io::Error) -> BlobError {
    BlobError::Upload(format!("writing {key}: {e}"))
}

impl ResumableWriter {
    /// Appends `body` at `offset` (the acknowledged offset: anything after it is cut off
    /// first), at most `max` bytes, and flushes it to disk. With `checksum` (the SHA-256 the
    /// client sent for this body), a body that does not match, or that stops early, is cut off
    /// again and refused: nothing of it counts.
    pub async fn append<S, E>(
        &mut self,
        offset: u64,
        mut hasher: ResumableSha256,
        body: S,
        max: u64,
        checksum: Option<[u8; 32]>,
    ) -> Result<Appended, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let key = self.key.clone();
        let stored = self.file.metadata().await.map_err(|e| io(&key, e))?.len();
        if stored < offset {
            // Never pad with zeros: the acknowledged bytes are gone from the disk.
            return Err(BlobError::Upload(format!(
                "{key} holds {stored} bytes, fewer than the {offset} acknowledged"
            )));
        }
        self.file.set_len(offset).await.map_err(|e| io(&key, e))?;
        self.file
            .seek(SeekFrom::Start(offset))
            .await
            .map_err(|e| io(&key, e))?;
        let mut body = body;
        let mut part = checksum.map(|_| Sha256::new());
        let mut buffer = BytesMut::with_capacity(WRITE_BUFFER);
        let mut written: u64 = 0;
        let mut interrupted = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    interrupted = Some(e.to_string());
                    break;
                }
            };
            if written + chunk.len() as u64 > max {
                self.cut(offset).await?;
                return Err(BlobError::TooLarge { limit: max });
            }
            written += chunk.len() as u64;
            hasher.update(&chunk);
            if let Some(part) = part.as_mut() {
                part.update(&chunk);
            }
            buffer.extend_from_slice(&chunk);
            if buffer.len() >= WRITE_BUFFER {
                self.file
                    .write_all(&buffer)
                    .await
                    .map_err(|e| io(&key, e))?;
                buffer.clear();
            }
        }
        self.file
            .write_all(&buffer)
            .await
            .map_err(|e| io(&key, e))?;
        self.file.flush().await.map_err(|e| io(&key, e))?;
        if let (Some(expected), Some(part)) = (checksum, part) {
            if let Some(why) = interrupted {
                self.cut(offset).await?;
                return Err(BlobError::Upload(why));
            }
            if part.finalize().as_slice() != expected {
                self.cut(offset).await?;
                return Err(BlobError::ChecksumMismatch);
            }
        }
        self.file.sync_data().await.map_err(|e| io(&key, e))?;
        Ok(Appended {
            bytes: written,
            hasher,
            interrupted,
        })
    }

    /// Drops what was written after `offset`.
    async fn cut(&mut self, offset: u64) -> Result<(), BlobError> {
        let key = self.key.clone();
        self.file.flush().await.map_err(|e| io(&key, e))?;
        self.file.set_len(offset).await.map_err(|e| io(&key, e))
    }
}
