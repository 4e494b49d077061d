//! Resources as they go over the wire: the domain types with RFC 3339 times.

use chrono::{DateTime, SecondsFormat, Utc};
use docket_core::{
    Counts, Item, ItemState, Job, JobKind, JobOptions, JobState, Millis, PauseReason,
};
use serde::Serialize;

pub fn rfc3339(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Debug, Serialize)]
pub struct JobView {
    pub id: String,
    pub kind: JobKind,
    pub state: JobState,
    pub pause_reason: Option<PauseReason>,
    pub pause_requested: bool,
    pub created_at: String,
    pub started_at: Option<String>,
    pub updated_at: String,
    pub finished_at: Option<String>,
    pub counts: Counts,
    pub progress: f64,
    pub items_per_second: f64,
    pub eta_seconds: Option<i64>,
    pub current_items: Vec<String>,
    pub consecutive_failures: u32,
    pub options: JobOptions,
    pub error: Option<String>,
    pub result: Option<serde_json::Value>,
}

impl From<Job> for JobView {
    fn from(j: Job) -> JobView {
        JobView {
            id: j.id,
            kind: j.kind,
            state: j.state,
            pause_reason: j.pause_reason,
            pause_requested: j.pause_requested,
            created_at: rfc3339(j.created_at),
            started_at: j.started_at.map(rfc3339),
            updated_at: rfc3339(j.updated_at),
            finished_at: j.finished_at.map(rfc3339),
            counts: j.counts,
            progress: j.progress,
            items_per_second: j.items_per_second,
            eta_seconds: j.eta_seconds,
            current_items: j.current_items,
            consecutive_failures: j.consecutive_failures,
            options: j.options,
            error: j.error,
            result: j.result,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorView {
    pub attempt: u32,
    pub at: String,
    pub message: String,
    pub transient: bool,
}

#[derive(Debug, Serialize)]
pub struct ItemView {
    pub id: String,
    pub job_id: String,
    pub name: String,
    pub state: ItemState,
    pub stage: String,
    pub progress: f64,
    pub attempts: u32,
    pub document_id: Option<String>,
    pub next_attempt_at: Option<String>,
    pub errors: Vec<ErrorView>,
}

impl From<Item> for ItemView {
    fn from(i: Item) -> ItemView {
        ItemView {
            id: i.id,
            job_id: i.job_id,
            name: i.name,
            state: i.state,
            stage: i.stage,
            progress: i.progress,
            attempts: i.attempts,
            document_id: i.document_id,
            next_attempt_at: i.next_attempt_at.map(rfc3339),
            errors: i
                .errors
                .into_iter()
                .map(|e| ErrorView {
                    attempt: e.attempt,
                    at: rfc3339(e.at),
                    message: e.message,
                    transient: e.transient,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PageView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
