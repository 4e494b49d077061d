//! What an interrupted `docket submit` leaves behind so that `docket submit --resume` of the
//! same paths picks it up: a small JSON file per (server, paths), naming each file's upload.
//! Written atomically (a temporary file renamed over it), so a CLI killed at any moment
//! leaves the old state or the new one, never half of one.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmitState {
    pub server: String,
    /// Sent with the final `POST /v1/jobs`, so a CLI killed after it but before it learnt the
    /// answer gets the same job on `--resume`, not a second one.
    pub idempotency_key: String,
    pub options: Option<Value>,
    pub files: Vec<FileState>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileState {
    pub path: PathBuf,
    /// The name the job shows (its path under the submitted folder).
    pub name: String,
    pub size: u64,
    /// Modification time in ms: a file changed since its upload started is sent again.
    pub modified_ms: u128,
    /// `/v1/uploads/…` once created.
    pub upload: Option<String>,
    pub done: bool,
}

impl FileState {
    pub fn new(path: PathBuf, name: String) -> anyhow::Result<FileState> {
        let meta =
            std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(FileState {
            path,
            name,
            size: meta.len(),
            modified_ms: modified_ms(&meta),
            upload: None,
            done: false,
        })
    }

    /// Same path, size and modification time.
    pub fn same_file(&self, other: &FileState) -> bool {
        self.path == other.path && self.size == other.size && self.modified_ms == other.modified_ms
    }
}

fn modified_ms(meta: &std::fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Where submit states live: `DOCKET_STATE_DIR`, else `$XDG_STATE_HOME/docket`, else
/// `~/.local/state/docket`, else `./data`.
pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKET_STATE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("docket");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".local/state/docket");
    }
    PathBuf::from("data")
}

/// The state file of a submit of `files` (absolute paths, in order) to `server`.
pub fn state_file(dir: &Path, server: &str, files: &[FileState]) -> PathBuf {
    let mut hash = Sha256::new();
    hash.update(server.as_bytes());
    for f in files {
        hash.update(b"\n");
        hash.update(f.path.to_string_lossy().as_bytes());
    }
    let hex = hex::encode(hash.finalize());
    dir.join(format!("submit-{}.json", &hex[..16]))
}

impl SubmitState {
    pub fn load(file: &Path) -> anyhow::Result<Option<SubmitState>> {
        match std::fs::read(file) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("the submit state {} is unreadable", file.display())
            })?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", file.display())),
        }
    }

    pub fn save(&self, file: &Path) -> anyhow::Result<()> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = file.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, file).with_context(|| format!("writing {}", file.display()))
    }
}
