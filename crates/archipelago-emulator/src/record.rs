//! The serialisable snapshot of everything an emulated site stored, and its request log.

use serde::{Deserialize, Serialize};

/// Whether Drupal's cron may delete a file (`temporary`) or an entity holds it (`permanent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Temporary,
    Permanent,
}

/// The field (and, for an upload into an existing entity, the entity) a file was uploaded for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadTarget {
    pub entity_type: String,
    pub bundle: String,
    pub field: String,
    /// The entity's UUID when uploaded into an existing entity's field.
    pub entity: Option<String>,
}

/// One stored `file--file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub fid: u64,
    pub uuid: String,
    /// The name as stored, after Drupal's `_0`, `_1` … renaming.
    pub filename: String,
    /// `private://…`.
    pub uri: String,
    pub filemime: String,
    pub size: u64,
    /// Hex SHA-256 of the stored bytes.
    pub sha256: String,
    pub status: FileStatus,
    pub uploaded_for: UploadTarget,
    pub created: String,
    pub changed: String,
}

/// One stored `node--digital_object` or `node--digital_object_collection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub uuid: String,
    pub nid: u64,
    pub bundle: String,
    pub title: String,
    pub moderation_state: String,
    /// The JSON string as stored: the client's metadata plus the `as:*` entries of its files.
    pub field_descriptive_metadata: String,
    /// The fids the metadata references.
    pub files: Vec<u64>,
    pub created: String,
    pub changed: String,
}

/// One stored `ami_set_entity--ami_set_entity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmiSetRecord {
    pub uuid: String,
    pub id: u64,
    pub name: String,
    pub status: String,
    /// The set's configuration, a JSON string.
    pub set: String,
    pub source_data: Option<u64>,
    pub zip_file: Option<u64>,
    pub created: String,
    pub changed: String,
}

/// One request to `/jsonapi`, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// `None`: the connection was reset without an answer (or the answer is still pending).
    pub status: Option<u16>,
}

/// Everything stored, taken at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub files: Vec<FileRecord>,
    pub nodes: Vec<NodeRecord>,
    pub ami_sets: Vec<AmiSetRecord>,
    pub requests: Vec<RequestRecord>,
}

impl Record {
    pub fn files(&self) -> &[FileRecord] {
        &self.files
    }

    pub fn nodes(&self) -> &[NodeRecord] {
        &self.nodes
    }

    pub fn ami_sets(&self) -> &[AmiSetRecord] {
        &self.ami_sets
    }

    pub fn requests(&self) -> &[RequestRecord] {
        &self.requests
    }

    pub fn file(&self, fid: u64) -> Option<&FileRecord> {
        self.files.iter().find(|file| file.fid == fid)
    }

    pub fn node(&self, uuid: &str) -> Option<&NodeRecord> {
        self.nodes.iter().find(|node| node.uuid == uuid)
    }

    pub fn ami_set(&self, uuid: &str) -> Option<&AmiSetRecord> {
        self.ami_sets.iter().find(|set| set.uuid == uuid)
    }

    /// Whether a stored node's metadata or an AMI set's file field holds this file.
    pub fn is_referenced(&self, fid: u64) -> bool {
        self.nodes.iter().any(|node| node.files.contains(&fid))
            || self
                .ami_sets
                .iter()
                .any(|set| set.source_data == Some(fid) || set.zip_file == Some(fid))
    }

    /// Temporary files that no entity references: what an interrupted publish leaves behind
    /// (Drupal's cron would delete them after about six hours).
    pub fn orphan_files(&self) -> Vec<&FileRecord> {
        self.files
            .iter()
            .filter(|file| file.status == FileStatus::Temporary && !self.is_referenced(file.fid))
            .collect()
    }

    /// The status of every logged request, in arrival order (`None`: reset, no answer).
    pub fn statuses(&self) -> Vec<Option<u16>> {
        self.requests.iter().map(|request| request.status).collect()
    }

    /// Requests whose path contains `needle`.
    pub fn requests_to(&self, needle: &str) -> Vec<&RequestRecord> {
        self.requests
            .iter()
            .filter(|request| request.path.contains(needle))
            .collect()
    }
}
