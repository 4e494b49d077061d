//! Where uploaded files live: a local directory by default, or S3-compatible object storage
//! (`s3://bucket/prefix`) shared by every process. Built on `object_store`, so both are one API.
//! Uploads are streamed in parts and hashed on the way: a file is never held whole in memory.

mod resumable;
mod resumable_hash;
mod resumable_object;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

pub use resumable::{Appended, ResumableWriter};
pub use resumable_hash::ResumableSha256;
pub use resumable_object::{ObjectAppended, ObjectUpload, WriterLease};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob store configuration: {0}")]
    Config(String),
    #[error("the upload exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the upload was interrupted: {0}")]
    Upload(String),
    #[error("blob not found: {0}")]
    NotFound(String),
    #[error("blob store: {0}")]
    Store(#[from] object_store::Error),
    /// Another writer holds this resumable upload.
    #[error("{0} is being written by another request")]
    Busy(String),
    /// The bytes do not match the checksum sent with them; none of them were kept.
    #[error("the data does not match its checksum")]
    ChecksumMismatch,
    #[error("{0}")]
    Unsupported(String),
}

impl BlobError {
    /// Network trouble or a busy store: worth retrying.
    pub fn is_transient(&self) -> bool {
        matches!(self, BlobError::Store(e) if !matches!(e, object_store::Error::NotFound { .. }))
    }
}

/// What was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    describe: String,
    /// The directory of a directory store (resumable uploads write there in place).
    local_root: Option<PathBuf>,
    /// The S3 client of an object store (resumable uploads are multipart uploads there).
    parts: Option<resumable_object::PartStore>,
}

/// Parts of this size are written as they fill, bounding memory per upload.
const PART: usize = 8 * 1024 * 1024;

impl Blobs {
    /// `spec` is a directory (created if missing) or `s3://bucket[/prefix]`. S3 credentials,
    /// region and endpoint come from the usual `AWS_*` environment variables
    /// (`AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP=true` for a local S3-compatible server).
    pub fn open(spec: &str) -> Result<Blobs, BlobError> {
        Self::open_spec(spec, object_store::aws::AmazonS3Builder::from_env)
    }

    /// Like [`Blobs::open`], but the S3 settings come only from `s3_options`, never from the
    /// environment. Keys are `object_store`'s S3 configuration names, e.g. `aws_endpoint`,
    /// `aws_allow_http`, `aws_region`, `aws_access_key_id`, `aws_secret_access_key`,
    /// `aws_virtual_hosted_style_request`. A directory `spec` ignores them.
    pub fn open_with(spec: &str, s3_options: &[(&str, &str)]) -> Result<Blobs, BlobError> {
        let mut keys = Vec::with_capacity(s3_options.len());
        for (key, value) in s3_options {
            let key: object_store::aws::AmazonS3ConfigKey = key
                .parse()
                .map_err(|_| BlobError::Config(format!("unknown S3 option `{key}`")))?;
            keys.push((key, value.to_string()));
        }
        Self::open_spec(spec, move || {
            keys.into_iter().fold(
                object_store::aws::AmazonS3Builder::new(),
                |builder, (key, value)| builder.with_config(key, value),
            )
        })
    }

    fn open_spec(
        spec: &str,
        s3_builder: impl FnOnce() -> object_store::aws::AmazonS3Builder,
    ) -> Result<Blobs, BlobError> {
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(BlobError::Config(format!("no bucket in `{spec}`")));
            }
            let s3 = s3_builder().with_bucket_name(bucket).build()?;
            let prefix = prefix.trim_matches('/').to_owned();
            let parts = resumable_object::PartStore {
                s3: s3.clone(),
                prefix: prefix.clone(),
            };
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
            };
            return Ok(Blobs {
                store,
                describe: spec.to_string(),
                local_root: None,
                parts: Some(parts),
            });
        }
        let dir = Path::new(spec);
        private_dir(dir).map_err(|e| {
            BlobError::Config(format!("cannot create {} as private: {e}", dir.display()))
        })?;
        let local = LocalFileSystem::new_with_prefix(dir)?;
        let root = std::fs::canonicalize(dir)
            .map_err(|e| BlobError::Config(format!("cannot open {}: {e}", dir.display())))?;
        Ok(Blobs {
            store: Arc::new(local),
            describe: dir.display().to_string(),
            local_root: Some(root),
            parts: None,
        })
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Streams `body` into `key`, hashing as it goes; fails with `TooLarge` past `limit` bytes
    /// (and leaves nothing behind).
    pub async fn put_stream<S, E>(
        &self,
        key: &str,
        body: S,
        limit: u64,
    ) -> Result<Stored, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = ObjectPath::from(key);
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut body = body;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(BlobError::Upload(e.to_string()));
                }
            };
            size += chunk.len() as u64;
            if size > limit {
                let _ = writer.abort().await;
                return Err(BlobError::TooLarge { limit });
            }
            hasher.update(&chunk);
            // Back-pressure: at most a couple of parts in flight.
            if let Err(e) = writer.wait_for_capacity(2).await {
                // Leave no half-written multipart upload behind (S3 bills for its parts).
                let _ = writer.abort().await;
                return Err(e.into());
            }
            writer.write(&chunk);
        }
        writer.finish().await?;
        Ok(Stored {
            key: key.to_string(),
            size,
            sha256: hex::encode(hasher.finalize()),
        })
    }

    /// The [`Stored`] of a file already whole in memory (a small upload file): its hash and
    /// size, computed here, before [`Blobs::put`] writes it in one go.
    pub fn stored_whole(key: &str, bytes: &[u8]) -> Stored {
        Stored {
            key: key.to_string(),
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// Starts the pack at `key`: small files appended one after another into one blob (one
    /// file on a local directory, a multipart upload on S3), read back by range. Thousands
    /// of small files then cost one blob, not thousands of file creations.
    pub async fn pack(&self, key: &str) -> Result<PackWriter, BlobError> {
        let upload = self.store.put_multipart(&ObjectPath::from(key)).await?;
        Ok(PackWriter {
            key: key.to_string(),
            writer: WriteMultipart::new_with_chunk_size(upload, PART),
            len: 0,
        })
    }

    /// `len` bytes of the blob at `key` from `offset` (a file in a pack).
    pub async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes, BlobError> {
        let end = offset.saturating_add(len);
        match self
            .store
            .get_range(&ObjectPath::from(key), offset..end)
            .await
        {
            Ok(bytes) => Ok(bytes),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(key.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.store
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        match self.store.get(&ObjectPath::from(key)).await {
            Ok(r) => Ok(r.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(key.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// The blob at `key` as a stream of chunks, with its size: for serving files without
    /// holding them whole in memory.
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<
        (
            u64,
            futures::stream::BoxStream<'static, Result<Bytes, BlobError>>,
        ),
        BlobError,
    > {
        match self.store.get(&ObjectPath::from(key)).await {
            Ok(r) => {
                let size = r.meta.size;
                Ok((
                    size,
                    r.into_stream().map(|c| c.map_err(BlobError::from)).boxed(),
                ))
            }
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(key.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn size(&self, key: &str) -> Result<u64, BlobError> {
        match self.store.head(&ObjectPath::from(key)).await {
            Ok(meta) => Ok(meta.size),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(key.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the blob at `key`; none there is fine.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes every blob under `prefix` (a job's uploads when the job is deleted).
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64, BlobError> {
        let prefix = ObjectPath::from(prefix);
        let mut listing = self.store.list(Some(&prefix));
        let mut n = 0;
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => n += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(n)
    }
}

/// Small files appended into one blob ([`Blobs::pack`]); at most a few parts (8 MiB each) are
/// in memory at once. Nothing of it is readable before [`PackWriter::finish`].
pub struct PackWriter {
    key: String,
    writer: WriteMultipart,
    len: u64,
}

impl PackWriter {
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Appends `bytes`; answers the offset they start at.
    pub async fn append(&mut self, bytes: &[u8]) -> Result<u64, BlobError> {
        // Back-pressure: at most a couple of parts in flight.
        self.writer.wait_for_capacity(2).await?;
        let at = self.len;
        self.writer.write(bytes);
        self.len += bytes.len() as u64;
        Ok(at)
    }

    /// Makes the pack whole and readable.
    pub async fn finish(self) -> Result<(), BlobError> {
        self.writer.finish().await?;
        Ok(())
    }

    /// Gives the pack up (S3 bills for the parts of an unfinished upload).
    pub async fn abort(self) {
        let _ = self.writer.abort().await;
    }
}

/// Creates `dir` (and its missing parents) readable by this account only, and takes group and
/// other access away from it if it already existed. The files below are then private whatever
/// their own modes (`object_store` creates them with the process umask, which `serve` and
/// `worker` set to 077).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(()); // the working directory: not ours to narrow
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}
