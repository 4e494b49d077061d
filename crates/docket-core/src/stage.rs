use serde::{Deserialize, Serialize};

/// Stages of a `process` item, with the progress mark each one starts at (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Queued,
    Loading,
    Extracting,
    Classifying,
    Indexing,
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
            Stage::Done => 100.0,
        }
    }
}
