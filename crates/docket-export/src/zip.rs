//! A streaming ZIP writer over any `tokio::io::AsyncWrite`: the `zip` crate's stream writer
//! (local headers with data descriptors, ZIP64 where an entry or the archive needs it) on a
//! blocking thread, fed entries through a bounded channel, its output pumped into the async
//! writer through another. Memory stays at a few chunks whatever the archive's size.
//!
//! An archive that is dropped before [`ZipStream::finish`] never gets its central directory:
//! what was written is not a valid ZIP, so a broken export cannot pass for a complete one.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::ExportError;

/// How an entry is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflated,
}

/// Output is handed to the async writer in chunks of about this size.
const CHUNK: usize = 64 * 1024;
/// Chunks (and commands) in flight between the threads.
const DEPTH: usize = 8;
/// An entry at least this large (when its size is known) is written with ZIP64 sizes from
/// the start; unknown sizes switch to ZIP64 data descriptors automatically.
const ZIP64_AT: u64 = 0xFFFF_FFFF;

enum Cmd {
    Start {
        name: String,
        method: Method,
        large: bool,
    },
    Data(Bytes),
    Finish,
}

/// A ZIP archive being written. Entries are written one at a time: [`start_entry`], any
/// number of [`write`], then the next entry or [`finish`].
///
/// [`start_entry`]: ZipStream::start_entry
/// [`write`]: ZipStream::write
/// [`finish`]: ZipStream::finish
pub struct ZipStream {
    cmds: mpsc::Sender<Cmd>,
    zipper: JoinHandle<Result<(), ExportError>>,
    pump: JoinHandle<Result<u64, ExportError>>,
}

impl ZipStream {
    /// Starts an archive written to `out` (which is shut down once the archive is finished).
    /// Must be called inside a tokio runtime.
    pub fn new<W>(mut out: W) -> ZipStream
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (cmds, mut cmd_rx) = mpsc::channel::<Cmd>(DEPTH);
        let (bytes_tx, mut bytes_rx) = mpsc::channel::<Bytes>(DEPTH);
        let finished = Arc::new(AtomicBool::new(false));
        let finished_pump = finished.clone();
        let zipper = tokio::task::spawn_blocking(move || {
            let sink = ChunkSink {
                buf: Vec::with_capacity(CHUNK),
                tx: bytes_tx,
            };
            let mut zip = ZipWriter::new_stream(sink).set_auto_large_file();
            let mut open = false;
            while let Some(cmd) = cmd_rx.blocking_recv() {
                match cmd {
                    Cmd::Start {
                        name,
                        method,
                        large,
                    } => {
                        let options = SimpleFileOptions::default()
                            .compression_method(match method {
                                Method::Stored => CompressionMethod::Stored,
                                Method::Deflated => CompressionMethod::Deflated,
                            })
                            .unix_permissions(0o644)
                            .large_file(large);
                        zip.start_file(name, options)?;
                        open = true;
                    }
                    Cmd::Data(data) => {
                        if !open {
                            return Err(ExportError::Usage("data before an entry"));
                        }
                        zip.write_all(&data)?;
                    }
                    Cmd::Finish => {
                        let mut sink = zip.finish()?.into_inner();
                        sink.flush()?;
                        finished.store(true, Ordering::Release);
                        drop(sink);
                        return Ok(());
                    }
                }
            }
            // Dropped unfinished: no central directory is written.
            Err(ExportError::Stopped)
        });
        let pump = tokio::spawn(async move {
            let mut written = 0u64;
            while let Some(chunk) = bytes_rx.recv().await {
                out.write_all(&chunk).await?;
                written += chunk.len() as u64;
            }
            // The channel closes when the zipper is done: shut the output down only after a
            // finished archive.
            if finished_pump.load(Ordering::Acquire) {
                out.shutdown().await?;
            } else {
                out.flush().await?;
            }
            Ok(written)
        });
        ZipStream { cmds, zipper, pump }
    }

    /// Starts the next entry (finishing the one before). `size`, where known, lets a large
    /// entry be written with ZIP64 sizes from its local header on.
    pub async fn start_entry(
        &mut self,
        name: &str,
        method: Method,
        size: Option<u64>,
    ) -> Result<(), ExportError> {
        self.send(Cmd::Start {
            name: name.to_string(),
            method,
            large: size.is_some_and(|s| s >= ZIP64_AT),
        })
        .await
    }

    /// Appends to the current entry.
    pub async fn write(&mut self, data: Bytes) -> Result<(), ExportError> {
        if data.is_empty() {
            return Ok(());
        }
        self.send(Cmd::Data(data)).await
    }

    /// Writes a whole entry.
    pub async fn entry(
        &mut self,
        name: &str,
        method: Method,
        data: Bytes,
    ) -> Result<(), ExportError> {
        self.start_entry(name, method, Some(data.len() as u64))
            .await?;
        self.write(data).await
    }

    /// Writes the central directory and flushes; returns the archive's size in bytes.
    pub async fn finish(self) -> Result<u64, ExportError> {
        let ZipStream { cmds, zipper, pump } = self;
        let sent = cmds.send(Cmd::Finish).await;
        drop(cmds);
        let zipped = zipper.await.map_err(|_| ExportError::Stopped)?;
        let pumped = pump.await.map_err(|_| ExportError::Stopped)?;
        // The first failure is the cause: the zipper's, unless the output went first.
        match (sent, zipped, pumped) {
            (_, Ok(()), Ok(n)) => Ok(n),
            (_, _, Err(e)) => Err(e),
            (_, Err(e), _) => Err(e),
        }
    }

    async fn send(&mut self, cmd: Cmd) -> Result<(), ExportError> {
        if self.cmds.send(cmd).await.is_ok() {
            return Ok(());
        }
        // The zipper stopped: report why.
        Err(ExportError::Stopped)
    }
}

/// The zipper's output: gathered into chunks and handed to the pump, blocking while the
/// channel is full (that is the back-pressure from a slow reader).
struct ChunkSink {
    buf: Vec<u8>,
    tx: mpsc::Sender<Bytes>,
}

impl ChunkSink {
    fn hand_over(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "output closed"))
    }
}

impl Write for ChunkSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.hand_over()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.hand_over()
    }
}
