//! A Google Cloud Vision emulator: `POST /v1/images:annotate` (REST v1) served over real HTTP
//! on a loopback port, for Docket's OCR tests. It checks the API key, the JSON shape, base64
//! and the 16-image cap the way Google does and answers in Google's shapes
//! (`responses[i].fullTextAnnotation.text`, `responses[i].error`, and
//! `{"error": {"code", "message", "status"}}` for a refused request), reading each image with
//! the local `tesseract` so the text is real. [`Faults`] (also `/_emulator/faults/…`) takes it
//! down (connections reset or refused), fails requests (429 with `Retry-After`, 500, …) or
//! single images, and slows it down; [`Record`] (also `/_emulator/record`) is every request
//! and every image read, so a test can check that each page was read exactly once.
//!
//! Where it departs from Google: only `image.content` (no `image.source` URIs), only the text
//! features produce annotations (the others are accepted and answered empty), no
//! `textAnnotations` or layout in the answer, and language hints beyond a few common ones
//! fall back to English.

mod admin;
mod annotate;
mod faults;
mod record;
mod server;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use annotate::MAX_IMAGES;
pub use faults::{DownMode, FailRule, Faults, FaultsSnapshot, ImageErrorRule};
pub use record::{ReadRecord, Record, RequestRecord};

use record::SharedRecord;

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The one API key it accepts.
    pub api_key: String,
    /// The tesseract executable that reads the images.
    pub tesseract: PathBuf,
    /// Images read at once (default: the number of cores).
    pub ocr_slots: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            api_key: "test-key".to_owned(),
            tesseract: PathBuf::from("tesseract"),
            ocr_slots: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

pub(crate) struct Site {
    pub config: EmulatorConfig,
    pub faults: Faults,
    pub record: SharedRecord,
    pub ocr_slots: Semaphore,
}

/// A running emulator. Dropping it, or [`Emulator::shutdown`], stops the server.
pub struct Emulator {
    site: Arc<Site>,
    addr: SocketAddr,
    shutdown: CancellationToken,
    accept: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Serves on `127.0.0.1` at a free port.
    pub async fn start(config: EmulatorConfig) -> io::Result<Emulator> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(config: EmulatorConfig, addr: SocketAddr) -> io::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let site = Arc::new(Site {
            ocr_slots: Semaphore::new(config.ocr_slots.max(1)),
            config,
            faults: Faults::default(),
            record: SharedRecord::default(),
        });
        let shutdown = CancellationToken::new();
        let accept = tokio::spawn(server::accept_loop(
            listener,
            addr,
            site.clone(),
            shutdown.clone(),
        ));
        Ok(Emulator {
            site,
            addr,
            shutdown,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT`: the endpoint (the API is under `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to inject faults; clones act on the same emulator.
    pub fn faults(&self) -> Faults {
        self.site.faults.clone()
    }

    /// Every request and every image read, as of now.
    pub fn record(&self) -> Record {
        self.site.record.lock().clone()
    }

    /// Stops accepting and closes the listener.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(accept) = self.accept.take() {
            let _ = accept.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
