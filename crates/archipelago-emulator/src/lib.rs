//! An Archipelago emulator: Drupal core JSON:API with strawberryfield's digital objects and
//! AMI's `ami_set_entity`, served over real HTTP on a loopback port, for Docket's publish
//! tests. It keeps everything in memory, can be told to fail in the ways a real site and its
//! network do ([`Faults`]), and shows what it stored ([`Record`]).
//!
//! It follows `/work/shared/ARCHIPELAGO.md`. Where it departs from a real site, or chooses
//! where the source left it open:
//! - "Down" ([`Faults::down_for`]) resets every `/jsonapi` connection (a TCP RST, no HTTP
//!   answer), which is what a dropped network looks like; a 503 outage is
//!   [`Faults::fail`] with a large count.
//! - Wrong credentials are 403 (the real `basic_auth` may also challenge with 401); read-only
//!   mode is checked before authentication, as Drupal's route filter runs before access.
//! - A `data.type` that is not the route's is 409; a PATCH whose `data.id` is not the URL's
//!   is 400.
//! - `field_descriptive_metadata` and `set` are accepted as a string or `{"value": …}` and
//!   answered as `{"value": "<json>"}`; `as:*` checksums are SHA-256 (`crypHashFunc`
//!   says so), where strawberryfield writes MD5.
//! - No collection GETs or filters, no processing of AMI sets, no cron deleting temporary
//!   files; unmatched paths below `/jsonapi` are 404 but not in the request log.

mod admin;
mod ami_sets;
mod auth;
mod config;
mod connection;
mod document;
mod errors;
mod faults;
mod files;
mod gate;
mod lookups;
mod nodes;
mod record;
mod resource;
mod routes;
mod site;
mod store;
mod strawberry;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::EmulatorConfig;
pub use errors::{ApiError, JSONAPI};
pub use faults::{FailRule, Faults, FaultsSnapshot, ResetRule};
pub use record::{
    AmiSetRecord, FileRecord, FileStatus, NodeRecord, Record, RequestRecord, UploadTarget,
};

use site::{SharedSite, Site};
use store::Store;

/// A running emulated site. Dropping it, or [`Emulator::shutdown`], stops the server.
#[derive(Debug)]
pub struct Emulator {
    site: SharedSite,
    addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    accept: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Serves on `127.0.0.1` at a free port.
    pub async fn start(config: EmulatorConfig) -> io::Result<Emulator> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves on `addr`, with nothing stored.
    pub async fn start_on(config: EmulatorConfig, addr: SocketAddr) -> io::Result<Emulator> {
        Self::serve(config, addr, Arc::default(), Faults::default()).await
    }

    async fn serve(
        config: EmulatorConfig,
        addr: SocketAddr,
        store: Arc<Mutex<Store>>,
        faults: Faults,
    ) -> io::Result<Emulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let site = Arc::new(Site {
            config,
            base_url: format!("http://{addr}"),
            store,
            faults,
        });
        let router = routes::jsonapi(site.clone())
            .merge(admin::router())
            .fallback(|| async {
                ApiError::not_found("No route found for this path.").into_response()
            })
            .with_state(site.clone());
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let accept = tokio::spawn(connection::accept_loop(
            listener,
            router,
            shutdown.clone(),
            tasks.clone(),
        ));
        Ok(Emulator {
            site,
            addr,
            shutdown,
            tasks,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT`: the Drupal site; JSON:API is under `/jsonapi`.
    pub fn url(&self) -> String {
        self.site.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.site.config
    }

    /// A handle to inject faults; clones act on the same emulator.
    pub fn faults(&self) -> Faults {
        self.site.faults.clone()
    }

    /// Everything stored and the request log, as of now.
    pub fn record(&self) -> Record {
        self.site.store().record()
    }

    /// The bytes of a stored file.
    pub fn file_bytes(&self, fid: u64) -> Option<Bytes> {
        self.site.store().bytes.get(&fid).cloned()
    }

    /// Stops accepting, drops every open connection and waits until all are closed.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    /// Stops and serves again on the same address, keeping what is stored and the faults:
    /// a site that went away and came back.
    pub async fn restart(mut self) -> io::Result<Emulator> {
        self.stop().await;
        let config = self.site.config.clone();
        Self::serve(
            config,
            self.addr,
            self.site.store.clone(),
            self.site.faults.clone(),
        )
        .await
    }

    async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(accept) = self.accept.take() {
            let _ = accept.await;
        }
        self.tasks.close();
        self.tasks.wait().await;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
