//! The resources as users see them (SPEC §5 "Resources": field names are part of the contract).

use serde::{Deserialize, Serialize};

use crate::{AttemptError, Counts, ItemState, JobKind, JobOptions, JobState, Millis, PauseReason};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: String,
    /// The owner: never sent, since a caller only ever sees their own.
    #[serde(skip)]
    pub user: String,
    pub kind: JobKind,
    pub state: JobState,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub pause_reason: Option<PauseReason>,
    /// True while a pause is requested but items are still finishing their stage.
    pub pause_requested: bool,
    #[serde(with = "crate::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Millis,
    #[serde(with = "crate::time::as_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, required = true))]
    pub started_at: Option<Millis>,
    #[serde(with = "crate::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Millis,
    #[serde(with = "crate::time::as_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, required = true))]
    pub finished_at: Option<Millis>,
    pub counts: Counts,
    pub progress: f64,
    pub items_per_second: f64,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub eta_seconds: Option<i64>,
    pub current_items: Vec<String>,
    pub consecutive_failures: u32,
    pub options: JobOptions,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub result: Option<serde_json::Value>,
    /// Delivery of the finished-state webhook, when the job has a `notify_url`.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub webhook: Option<crate::Webhook>,
}

impl Job {
    /// Fills `progress`, `items_per_second` and `eta_seconds` from the counters and the
    /// progress of the items in flight: never from a scan of all items.
    pub fn compute_progress(&mut self, in_flight_progress_sum: f64, now: Millis) {
        let c = &self.counts;
        self.progress = if c.total == 0 {
            100.0
        } else {
            let done = 100.0 * c.finished() as f64;
            ((done + in_flight_progress_sum) / c.total as f64 * 10.0).round() / 10.0
        };
        let end = self.finished_at.unwrap_or(now);
        self.items_per_second = match self.started_at {
            Some(start) if end > start => {
                let rate = c.finished() as f64 / ((end - start) as f64 / 1000.0);
                (rate * 100.0).round() / 100.0
            }
            _ => 0.0,
        };
        self.eta_seconds = if self.state.is_finished() {
            Some(0)
        } else if self.items_per_second > 0.0 {
            Some((c.unfinished() as f64 / self.items_per_second).ceil() as i64)
        } else {
            None
        };
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Item {
    pub id: String,
    pub job_id: String,
    pub name: String,
    pub state: ItemState,
    pub stage: String,
    pub progress: f64,
    pub attempts: u32,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub document_id: Option<String>,
    #[serde(with = "crate::time::as_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, required = true))]
    pub next_attempt_at: Option<Millis>,
    pub errors: Vec<AttemptError>,
}

/// The stored outcome for one input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    pub id: String,
    /// The owner: never sent, since a caller only ever sees their own.
    #[serde(skip)]
    pub user: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub job_id: Option<String>,
    pub name: String,
    pub sha256: String,
    pub media_type: String,
    pub size: i64,
    pub pages: i64,
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub category: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub confidence: Option<f64>,
    pub metadata: serde_json::Value,
    #[serde(with = "crate::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Millis,
}
