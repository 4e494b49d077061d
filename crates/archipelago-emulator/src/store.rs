//! The emulated site's database: entities, files and their bytes, and the request log.

use std::collections::{BTreeMap, HashMap};

use axum::http::StatusCode;
use bytes::Bytes;

use crate::errors::ApiError;
use crate::record::{AmiSetRecord, FileRecord, NodeRecord, Record, RequestRecord};

#[derive(Debug, Default)]
pub(crate) struct Store {
    last_fid: u64,
    last_nid: u64,
    last_ami_id: u64,
    pub files: BTreeMap<u64, FileRecord>,
    pub bytes: HashMap<u64, Bytes>,
    pub nodes: BTreeMap<String, NodeRecord>,
    pub ami_sets: BTreeMap<String, AmiSetRecord>,
    pub requests: Vec<RequestRecord>,
}

impl Store {
    pub fn next_fid(&mut self) -> u64 {
        self.last_fid += 1;
        self.last_fid
    }

    pub fn next_nid(&mut self) -> u64 {
        self.last_nid += 1;
        self.last_nid
    }

    pub fn next_ami_id(&mut self) -> u64 {
        self.last_ami_id += 1;
        self.last_ami_id
    }

    /// Whether any entity, of any type, has this UUID (Drupal's UUIDs are unique per type, but
    /// the emulator's clients never reuse one across types).
    pub fn uuid_taken(&self, uuid: &str) -> bool {
        self.nodes.contains_key(uuid) || self.ami_sets.contains_key(uuid)
    }

    /// The id a new entity gets: the client's (409 if any entity has it) or a fresh UUID.
    pub fn new_entity_id(&self, requested: Option<&str>) -> Result<String, ApiError> {
        match requested {
            Some(id) if self.uuid_taken(id) => Err(ApiError::new(
                StatusCode::CONFLICT,
                "Conflict: Entity already exists.",
            )
            .pointer("/data/id")),
            Some(id) => Ok(id.to_owned()),
            None => Ok(uuid::Uuid::new_v4().to_string()),
        }
    }

    pub fn uri_taken(&self, uri: &str) -> bool {
        self.files.values().any(|file| file.uri == uri)
    }

    pub fn file_by_uuid(&self, uuid: &str) -> Option<&FileRecord> {
        self.files.values().find(|file| file.uuid == uuid)
    }

    pub fn log_request(&mut self, method: String, path: String) -> usize {
        self.requests.push(RequestRecord {
            method,
            path,
            status: None,
        });
        self.requests.len() - 1
    }

    pub fn log_status(&mut self, index: usize, status: u16) {
        if let Some(entry) = self.requests.get_mut(index) {
            entry.status = Some(status);
        }
    }

    pub fn record(&self) -> Record {
        Record {
            files: self.files.values().cloned().collect(),
            nodes: sorted(self.nodes.values(), |node| node.nid),
            ami_sets: sorted(self.ami_sets.values(), |set| set.id),
            requests: self.requests.clone(),
        }
    }
}

/// Records in creation order (the maps are keyed by UUID).
fn sorted<'a, T: Clone + 'a>(
    records: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> u64,
) -> Vec<T> {
    let mut records: Vec<T> = records.cloned().collect();
    records.sort_by_key(|record| key(record));
    records
}

/// Drupal's timestamp format in JSON:API answers.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}
