//! What the emulator was asked and what it read, for tests to assert on.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// One `images:annotate` request that reached the handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub images: usize,
    pub status: u16,
}

/// One image read (answered with its text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRecord {
    /// SHA-256 of the decoded image bytes.
    pub sha256: String,
    pub chars: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub requests: Vec<RequestRecord>,
    pub read: Vec<ReadRecord>,
    /// Connections reset or refused while down.
    pub refused_connections: u64,
}

impl Record {
    /// Images answered with text.
    pub fn pages_read(&self) -> usize {
        self.read.len()
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct SharedRecord(Arc<Mutex<Record>>);

impl SharedRecord {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Record> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
