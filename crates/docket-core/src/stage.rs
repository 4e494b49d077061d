use serde::{Deserialize, Serialize};

/// Stages of an item, with the progress mark each one starts at. A `process` item goes
/// `queued`, `loading`, `extracting`, `classifying`, `indexing`, `done` (SPEC §3); a
/// `publish` item `queued`, `loading`, `uploading`, `creating`, `done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Queued,
    Loading,
    Extracting,
    Classifying,
    Indexing,
    /// `publish` items: sending files to the repository.
    Uploading,
    /// `publish` items: creating (or completing) the repository's entity.
    Creating,
    Done,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Loading => "loading",
            Stage::Extracting => "extracting",
            Stage::Classifying => "classifying",
            Stage::Indexing => "indexing",
            Stage::Uploading => "uploading",
            Stage::Creating => "creating",
            Stage::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Some(match s {
            "queued" => Stage::Queued,
            "loading" => Stage::Loading,
            "extracting" => Stage::Extracting,
            "classifying" => Stage::Classifying,
            "indexing" => Stage::Indexing,
            "uploading" => Stage::Uploading,
            "creating" => Stage::Creating,
            "done" => Stage::Done,
            _ => return None,
        })
    }

    pub fn progress(self) -> f64 {
        match self {
            Stage::Queued => 0.0,
            Stage::Loading => 10.0,
            Stage::Extracting => 30.0,
            Stage::Classifying => 60.0,
            Stage::Indexing => 90.0,
            Stage::Uploading => 30.0,
            Stage::Creating => 70.0,
            Stage::Done => 100.0,
        }
    }
}
