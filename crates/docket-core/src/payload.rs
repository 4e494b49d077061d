//! What an item carries and where a job's items come from: the contracts between the API that
//! creates jobs, the store that keeps them as JSON, and the handlers that run them.
//!
//! Stored as internally tagged JSON (`{"type": "upload", "blob": …}`), readable in the
//! database. A stored value that fits no variant (written by a newer or broken release) is
//! read as `Unreadable`, never as an error: one bad row must not stop a worker's claims; the
//! handler fails that item permanently with the reason.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What one item of a job carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemPayload {
    /// A file uploaded with the job, stored under [`crate::blob_keys::upload`].
    Upload {
        blob: String,
        size: u64,
        sha256: String,
    },
    /// A small file uploaded with the job: `size` bytes at `offset` of the upload's pack
    /// ([`crate::blob_keys::upload_pack`]).
    PackedUpload {
        blob: String,
        offset: u64,
        size: u64,
        sha256: String,
    },
    /// A file in a folder on the server (under an allowed root, found by the folder lister).
    ServerFile { path: PathBuf },
    /// A stored document to classify again (`reindex` jobs).
    Document { document_id: String },
    /// One document of a finished job, published as a digital object to a target
    /// (`publish` jobs in `objects` mode).
    PublishDocument { target: String, document_id: String },
    /// Every succeeded document of `source_job`, published as one AMI set to a target
    /// (`publish` jobs in `ami_set` mode: the job's single item).
    PublishSet { target: String, source_job: String },
    /// Synthetic work: `sleep_ms` per item stands in for real work in tests and benchmarks.
    Noop {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sleep_ms: Option<u64>,
    },
    /// A stored value that fits none of the above; the reason says why. Never written.
    #[serde(skip)]
    Unreadable(String),
}

impl ItemPayload {
    /// Reads a stored payload; what does not fit becomes [`ItemPayload::Unreadable`].
    pub fn from_json(value: serde_json::Value) -> ItemPayload {
        // Deserialised by reference: claims read thousands of these, and only a payload that
        // does not fit needs the value again (for the message).
        ItemPayload::deserialize(&value).unwrap_or_else(|e| {
            ItemPayload::Unreadable(format!("the item's payload {value} is not understood: {e}"))
        })
    }

    /// [`ItemPayload::from_json`] of stored JSON text.
    pub fn from_stored(text: &str) -> ItemPayload {
        serde_json::from_str::<ItemPayload>(text).unwrap_or_else(|e| {
            ItemPayload::Unreadable(format!("the item's payload {text} is not understood: {e}"))
        })
    }

    /// The variant's name, for messages about a payload that does not fit its job's kind.
    pub fn describe(&self) -> &'static str {
        match self {
            ItemPayload::Upload { .. } | ItemPayload::PackedUpload { .. } => "an uploaded file",
            ItemPayload::ServerFile { .. } => "a server file",
            ItemPayload::Document { .. } => "a stored document",
            ItemPayload::PublishDocument { .. } => "a document to publish",
            ItemPayload::PublishSet { .. } => "a set to publish",
            ItemPayload::Noop { .. } => "a noop",
            ItemPayload::Unreadable(_) => "an unreadable payload",
        }
    }
}

/// How a `publish` job hands documents over to an Archipelago repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PublishMode {
    /// One AMI set (a CSV and a ZIP) that a person processes in the repository.
    AmiSet,
    /// One digital object per document, created directly.
    Objects,
}

impl PublishMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PublishMode::AmiSet => "ami_set",
            PublishMode::Objects => "objects",
        }
    }
}

impl std::fmt::Display for PublishMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the items of a job that lists them itself come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobSource {
    /// Every regular file under a folder on the server (canonical, under an allowed root).
    Folder { path: PathBuf },
    /// Every stored document of a user (`reindex` jobs).
    Documents { documents_of: String },
    /// The succeeded documents of another job, to publish to a configured target.
    Publish {
        job_id: String,
        target: String,
        mode: PublishMode,
    },
    /// `count` synthetic items, listed in chunks (the engine's own listing tests).
    Noop { count: u64 },
    /// A stored value that fits none of the above; the reason says why. Never written.
    #[serde(skip)]
    Unreadable(String),
}

impl JobSource {
    /// Reads a stored source; what does not fit becomes [`JobSource::Unreadable`].
    pub fn from_json(value: serde_json::Value) -> JobSource {
        JobSource::deserialize(&value).unwrap_or_else(|e| {
            JobSource::Unreadable(format!("the job's source {value} is not understood: {e}"))
        })
    }

    /// [`JobSource::from_json`] of stored JSON text; `None` (no source column) is unreadable too.
    pub fn from_stored(text: Option<&str>) -> JobSource {
        match text.map(serde_json::from_str::<serde_json::Value>) {
            Some(Ok(value)) => JobSource::from_json(value),
            Some(Err(e)) => JobSource::Unreadable(format!("the job's source is not JSON: {e}")),
            None => JobSource::Unreadable("the job has no source".into()),
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            JobSource::Folder { .. } => "a server folder",
            JobSource::Documents { .. } => "a user's documents",
            JobSource::Publish { .. } => "a job's documents to publish",
            JobSource::Noop { .. } => "synthetic items",
            JobSource::Unreadable(_) => "an unreadable source",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payloads_are_stored_as_tagged_json_and_read_back() {
        let upload = ItemPayload::Upload {
            blob: "uploads/j/000000".into(),
            size: 3,
            sha256: "ab".into(),
        };
        let stored = serde_json::to_value(&upload).unwrap();
        assert_eq!(
            stored,
            json!({"type": "upload", "blob": "uploads/j/000000", "size": 3, "sha256": "ab"})
        );
        assert_eq!(ItemPayload::from_json(stored), upload);
        assert_eq!(
            serde_json::to_value(ItemPayload::Noop { sleep_ms: None }).unwrap(),
            json!({"type": "noop"})
        );
        let source = JobSource::Documents {
            documents_of: "alice".into(),
        };
        let text = serde_json::to_string(&source).unwrap();
        assert_eq!(JobSource::from_stored(Some(&text)), source);
    }

    #[test]
    fn a_payload_of_an_unknown_shape_is_unreadable_not_an_error() {
        let ItemPayload::Unreadable(why) = ItemPayload::from_json(json!({"blob": 7})) else {
            panic!("an untagged payload was accepted");
        };
        assert!(why.contains("not understood"), "{why}");
        assert!(matches!(
            ItemPayload::from_stored("{"),
            ItemPayload::Unreadable(_)
        ));
        assert!(matches!(
            JobSource::from_stored(None),
            JobSource::Unreadable(_)
        ));
        assert!(serde_json::to_value(ItemPayload::Unreadable("x".into())).is_err());
    }
}
