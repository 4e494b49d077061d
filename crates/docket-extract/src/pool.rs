//! A pool of extractor child processes (see [`crate::child`]), so that a parser crash, hang or
//! runaway allocation costs one document and one process, never the worker.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::protocol::{self, Header};
use crate::{ExtractError, Extracted, Extraction, Options, PageImage, Progress};

/// How the pool starts and polices its children.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The extractor executable and its arguments; it must call [`crate::child::serve`]
    /// (production: `docket extractor`).
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Children, i.e. documents extracted at once. Each holds its own OCR engine.
    pub size: usize,
    /// Longest one document may take; the child is then killed and replaced.
    pub timeout: Duration,
    /// Address-space limit of each child (`RLIMIT_AS`), in MiB (the `MB` of
    /// `extract.memory_limit_mb`); `None` for no limit. A child that reaches it fails its
    /// document with [`ExtractError::OutOfMemory`].
    pub memory_limit_mib: Option<u64>,
}

impl PoolConfig {
    /// One child per core, 600 s per document, and each child capped at its share of the
    /// host's memory ([`crate::host::default_child_limit_mib`]). Whoever changes `size`
    /// afterwards should recompute the cap with that function.
    pub fn new(program: impl Into<PathBuf>, args: Vec<OsString>) -> Self {
        let size = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            program: program.into(),
            args,
            size,
            timeout: Duration::from_secs(600),
            memory_limit_mib: Some(crate::host::default_child_limit_mib(size)),
        }
    }
}

/// Where the pool finds the document.
#[derive(Debug, Clone)]
pub enum Source {
    Bytes(Vec<u8>),
    /// A file the child reads itself, sparing a copy through the pipe.
    Path(PathBuf),
}

/// One document to extract.
#[derive(Debug, Clone)]
pub struct Request {
    pub source: Source,
    /// The file name as uploaded (see [`crate::sniff`]).
    pub name: String,
    pub options: Options,
}

/// Told about each page of a PDF the child OCR'd, as it finishes it, before the child goes
/// on; decides whether it does.
#[async_trait]
pub trait PageSink: Send {
    /// Page `index` (0-based) was OCR'd into `text`. `false` stops the extraction before the
    /// next page with [`ExtractError::Stopped`]; the child stays usable.
    async fn page_done(&mut self, index: u32, text: String) -> bool;

    /// With [`crate::Options::delegate_ocr`]: these pages need OCR. Answers their texts in
    /// order (each saved as [`PageSink::page_done`] would, since the child does not report
    /// them again), or `None` to stop the extraction with [`ExtractError::Stopped`] (the sink
    /// keeps the reason).
    async fn read_elsewhere(&mut self, _images: Vec<PageImage>) -> Option<Vec<String>> {
        None
    }
}

/// Lets every page through.
struct GoOn;

#[async_trait]
impl PageSink for GoOn {
    async fn page_done(&mut self, _index: u32, _text: String) -> bool {
        true
    }
}

/// Pages this process has sent to an OCR engine (in any pool's children) since it started.
static OCR_PAGES_SENT: AtomicU64 = AtomicU64::new(0);

/// How many pages this process has sent to an OCR engine since it started, for `/metrics`.
/// Counted when a child starts OCR'ing a page, so a page cut off by a crash counts too.
pub fn ocr_pages_total() -> u64 {
    OCR_PAGES_SENT.load(Ordering::Relaxed)
}

/// Cheap to clone; clones share the children.
#[derive(Clone)]
pub struct ExtractorPool {
    inner: Arc<Inner>,
}

struct Inner {
    config: PoolConfig,
    idle: Mutex<Vec<Worker>>,
    permits: Semaphore,
}

impl ExtractorPool {
    /// Children are started when first needed, so this needs no runtime and cannot fail; a
    /// program that will not start shows up as [`ExtractError::Unavailable`].
    pub fn new(config: PoolConfig) -> Self {
        let size = config.size.max(1);
        Self {
            inner: Arc::new(Inner {
                config,
                idle: Mutex::new(Vec::new()),
                permits: Semaphore::new(size),
            }),
        }
    }

    /// Extracts one document in an idle child (waiting for one if all are busy), calling
    /// `progress` for each page the child reports. Dropping the future kills the child.
    pub async fn extract(
        &self,
        request: Request,
        progress: impl FnMut(Progress) + Send,
    ) -> Result<Extraction, ExtractError> {
        self.extract_paged(request, progress, &mut GoOn).await
    }

    /// [`ExtractorPool::extract`], handing each OCR'd page of a PDF to `pages` as soon as it
    /// is done; the child waits for `pages` before it starts the next one.
    pub async fn extract_paged(
        &self,
        request: Request,
        mut progress: impl FnMut(Progress) + Send,
        pages: &mut dyn PageSink,
    ) -> Result<Extraction, ExtractError> {
        let _permit =
            self.inner.permits.acquire().await.map_err(|_| {
                ExtractError::Unavailable("the extractor pool is closed".to_owned())
            })?;
        let header = Header {
            name: request.name,
            options: request.options,
            path: match &request.source {
                Source::Path(path) => Some(path.clone()),
                Source::Bytes(_) => None,
            },
        };
        let header = serde_json::to_vec(&header)
            .map_err(|e| ExtractError::Unavailable(format!("bad request: {e}")))?;
        let body: &[u8] = match &request.source {
            Source::Bytes(bytes) => bytes,
            Source::Path(_) => &[],
        };

        // An idle child may have died since its last document (killed by an operator, say):
        // that is not this document's fault, so it gets one fresh child before giving up.
        let mut worker = self.checkout()?;
        if worker.send(&header, body).await.is_err() {
            worker.kill_and_reap().await;
            worker = Worker::spawn(&self.inner.config)?;
            worker.send(&header, body).await.map_err(|e| {
                ExtractError::Unavailable(format!("the extractor does not accept requests: {e}"))
            })?;
        }

        let timeout = self.inner.config.timeout;
        match tokio::time::timeout(timeout, worker.receive(&mut progress, pages)).await {
            Ok(Ok(extraction)) => {
                self.checkin(worker);
                extraction
            }
            Ok(Err(_)) => {
                let status = worker.kill_and_reap().await;
                Err(self.death_cause(&worker, status).await)
            }
            Err(_) => {
                worker.kill_and_reap().await;
                Err(ExtractError::Timeout {
                    seconds: timeout.as_secs(),
                })
            }
        }
    }

    fn checkout(&self) -> Result<Worker, ExtractError> {
        let idle = self.inner.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(worker) => Ok(worker),
            None => Worker::spawn(&self.inner.config),
        }
    }

    fn checkin(&self, worker: Worker) {
        if let Ok(mut idle) = self.inner.idle.lock() {
            idle.push(worker);
        }
    }

    /// Why a child stopped answering: its memory limit, a signal, or an exit.
    async fn death_cause(&self, worker: &Worker, status: Option<ExitStatus>) -> ExtractError {
        // The stderr reader sees the child's last words only once the pipe closes; give it a
        // moment to get there.
        if let Some(task) = &worker.stderr_task {
            for _ in 0..50 {
                if task.is_finished() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        if worker.out_of_memory.load(Ordering::Relaxed) {
            if let Some(limit_mib) = self.inner.config.memory_limit_mib {
                return ExtractError::OutOfMemory { limit_mib };
            }
        }
        use std::os::unix::process::ExitStatusExt;
        match status {
            Some(status) => match status.signal() {
                Some(signal) => ExtractError::Crashed(format!("signal {signal}")),
                None => ExtractError::Crashed(format!(
                    "exit status {}",
                    status.code().unwrap_or_default()
                )),
            },
            None => ExtractError::Crashed("it stopped answering".to_owned()),
        }
    }
}

/// One child process.
struct Worker {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: tokio::io::BufReader<ChildStdout>,
    /// Set when the child's stderr says an allocation failed.
    out_of_memory: Arc<AtomicBool>,
    stderr_task: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(task) = &self.stderr_task {
            task.abort();
        }
    }
}

/// What the runtimes print when an allocation fails: Rust's alloc error handler, C++'s
/// uncaught `std::bad_alloc`, and poppler's and glib's own allocators. A C++ exception that
/// unwinds into Rust (poppler's `new` failing under the cap, called through poppler-glib)
/// makes Rust abort with "cannot catch foreign exceptions": poppler and tesseract throw no
/// exceptions of their own, so that one is `std::bad_alloc` too.
const OUT_OF_MEMORY_MARKERS: &[&str] = &[
    "memory allocation of",
    "bad_alloc",
    "cannot catch foreign exceptions",
    "Out of memory",
    "out of memory",
    "failed to allocate",
];

impl Worker {
    fn spawn(config: &PoolConfig) -> Result<Self, ExtractError> {
        let mut command = Command::new(&config.program);
        command
            .args(&config.args)
            // Read by libgomp when tesseract loads: one OCR thread per child, the pool being
            // the parallelism.
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(mib) = config.memory_limit_mib {
            let bytes = mib.saturating_mul(1024 * 1024);
            // SAFETY: runs in the forked child before exec and only calls setrlimit, which is
            // async-signal-safe.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: bytes as libc::rlim_t,
                        rlim_max: bytes as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().map_err(|e| {
            ExtractError::Unavailable(format!("cannot start {}: {e}", config.program.display()))
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ExtractError::Unavailable(
                "the extractor's pipes could not be opened".to_owned(),
            ));
        };
        let out_of_memory = Arc::new(AtomicBool::new(false));
        let flag = out_of_memory.clone();
        let pid = child.id().unwrap_or_default();
        // The child's stderr carries parser warnings and panic messages: worth keeping in
        // the log, and the only sign that a crash was an allocation failure.
        let stderr_task = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if OUT_OF_MEMORY_MARKERS.iter().any(|m| line.contains(m)) {
                    flag.store(true, Ordering::Relaxed);
                }
                tracing::debug!(target: "docket_extract::child", pid, "{line}");
            }
        });
        Ok(Self {
            child,
            stdin: BufWriter::new(stdin),
            stdout: tokio::io::BufReader::new(stdout),
            out_of_memory,
            stderr_task: Some(stderr_task),
        })
    }

    async fn send(&mut self, header: &[u8], body: &[u8]) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        protocol::write_frame_async(&mut self.stdin, protocol::REQUEST, header).await?;
        protocol::write_frame_async(&mut self.stdin, protocol::BODY, body).await?;
        self.stdin.flush().await
    }

    /// Progress frames until the result. `Err` means the child broke the protocol or died.
    async fn receive(
        &mut self,
        progress: &mut (impl FnMut(Progress) + Send),
        pages: &mut dyn PageSink,
    ) -> std::io::Result<Result<Extraction, ExtractError>> {
        let mut images = Vec::new();
        loop {
            let (kind, payload) = protocol::read_any_frame_async(&mut self.stdout).await?;
            match kind {
                protocol::IMAGE => {
                    let (index, png) = payload
                        .split_first_chunk::<4>()
                        .ok_or_else(|| std::io::Error::other("an image frame without its index"))?;
                    images.push(PageImage {
                        index: u32::from_le_bytes(*index),
                        png: png.to_vec(),
                    });
                }
                protocol::IMAGES_END => {
                    let texts = pages.read_elsewhere(std::mem::take(&mut images)).await;
                    let answer = serde_json::to_vec(&texts).map_err(std::io::Error::other)?;
                    protocol::write_frame_async(&mut self.stdin, protocol::TEXTS, &answer).await?;
                    self.stdin.flush().await?;
                }
                protocol::OCR_STARTING => {
                    OCR_PAGES_SENT.fetch_add(1, Ordering::Relaxed);
                }
                protocol::OCR_DONE => {
                    let page: protocol::PageText =
                        serde_json::from_slice(&payload).map_err(std::io::Error::other)?;
                    let go_on = pages.page_done(page.index, page.text).await;
                    protocol::write_frame_async(&mut self.stdin, protocol::ACK, &[u8::from(go_on)])
                        .await?;
                    self.stdin.flush().await?;
                }
                protocol::PROGRESS => {
                    if let Ok(p) = serde_json::from_slice::<Progress>(&payload) {
                        progress(p);
                    }
                }
                protocol::RESULT => {
                    let result: Result<Extracted, ExtractError> =
                        serde_json::from_slice(&payload).map_err(std::io::Error::other)?;
                    let (_, thumbnail) = protocol::read_any_frame_async(&mut self.stdout).await?;
                    return Ok(result.map(|extracted| Extraction {
                        extracted,
                        thumbnail: (!thumbnail.is_empty()).then_some(thumbnail),
                    }));
                }
                other => {
                    return Err(std::io::Error::other(format!(
                        "unexpected frame {:?}",
                        other as char
                    )))
                }
            }
        }
    }

    /// SIGKILL (a hung parser ignores anything gentler) and collect the exit status.
    async fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        // It may be dying on its own (a crash closes stdout a moment before the exit is
        // visible): a short wait tells a crash from a protocol error.
        if let Ok(Ok(status)) =
            tokio::time::timeout(Duration::from_millis(200), self.child.wait()).await
        {
            return Some(status);
        }
        let _ = self.child.start_kill();
        self.child.wait().await.ok()
    }
}
