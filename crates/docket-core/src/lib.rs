//! Docket's domain: jobs, items, their state machines and the bookkeeping rules that every
//! storage backend applies. Nothing here knows about SQL, HTTP or async runtimes.

pub mod blob_keys;
mod book;
mod error;
mod error_code;
mod ids;
pub mod names;
mod options;
mod outcome;
mod patch;
mod payload;
mod priority;
mod remote_health;
mod resource;
mod retry;
mod schedule;
mod stage;
mod state;
pub mod time;
mod webhook;

pub use book::{Counts, JobBook, Settled};
pub use error::CoreError;
pub use error_code::ErrorCode;
pub use ids::{ItemId, JobId, ScheduleId, UploadId};
pub use names::visible_name;
pub use options::{JobOptions, OcrOptions, OcrProvider};
pub use outcome::{decide, output_reused, AttemptError, ItemTarget, Outcome};
pub use patch::JobPatch;
pub use payload::{ItemPayload, JobSource, PublishMode};
pub use priority::Priority;
pub use remote_health::{BreakerPolicy, RemoteHealth};
pub use resource::{Document, Item, Job};
pub use retry::RetryPolicy;
pub use schedule::{
    Cadence, JobTemplate, Schedule, ScheduleChange, ScheduleRequest, ScheduleRun, TemplateSource,
};
pub use stage::Stage;
pub use state::{ItemState, JobKind, JobState, PauseReason};
pub use time::rfc3339;
pub use webhook::{Webhook, WebhookAttempt, WebhookState};

/// Milliseconds since the Unix epoch: the one time representation shared by every backend.
pub type Millis = i64;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
