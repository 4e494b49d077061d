//! The state every handler shares: configuration, the store, the faults.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::EmulatorConfig;
use crate::faults::Faults;
use crate::store::Store;

#[derive(Debug)]
pub(crate) struct Site {
    pub config: EmulatorConfig,
    /// `http://127.0.0.1:PORT`, for links and file URLs.
    pub base_url: String,
    pub store: Arc<Mutex<Store>>,
    pub faults: Faults,
}

impl Site {
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

pub(crate) type SharedSite = Arc<Site>;
