//! What the supervisor knows about each service, read by `/metrics`.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use docket_core::Millis;

/// Counters of one service in this process.
#[derive(Debug)]
pub struct ServiceStats {
    name: &'static str,
    /// Milliseconds since the epoch of the last successful round; 0 before the first.
    last_run_ms: AtomicI64,
    runs: AtomicU64,
    errors: AtomicU64,
    restarts: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ServiceStats {
    pub(crate) fn new(name: &'static str) -> ServiceStats {
        ServiceStats {
            name,
            last_run_ms: AtomicI64::new(0),
            runs: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// When the service last completed a round, if it has.
    pub fn last_run_ms(&self) -> Option<Millis> {
        Some(self.last_run_ms.load(Ordering::Relaxed)).filter(|&t| t > 0)
    }

    /// Successful rounds.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Failed runs (errors returned and panics).
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Times the supervisor started the service again after a failure.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    pub(crate) fn record_run(&self, at: Millis) {
        self.last_run_ms.store(at, Ordering::Relaxed);
        self.runs.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_error(&self, message: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(message);
        }
    }

    pub(crate) fn record_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }
}

/// The stats of every service of a process, in the order they were added. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ServicesStatus(pub(crate) Arc<Vec<Arc<ServiceStats>>>);

impl ServicesStatus {
    pub fn iter(&self) -> impl Iterator<Item = &ServiceStats> {
        self.0.iter().map(|s| s.as_ref())
    }

    pub fn get(&self, name: &str) -> Option<&ServiceStats> {
        self.iter().find(|s| s.name == name)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
