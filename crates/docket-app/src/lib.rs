//! Docket's application services: what a request asks for, done without HTTP. The API crate
//! parses a request, authorises the caller, calls one of these and renders the answer; tests
//! call them in process.
//!
//! - [`Submission`]: uploads streamed into blobs and the job created (uploads of a failed or
//!   abandoned submit are removed for certain), server-folder jobs behind the allowed-root
//!   check, synthetic `noop` jobs, idempotent replays.
//! - [`Deletion`]: durable deletion. A deleted job is marked (gone from every read at once) and
//!   [`run_deletions`] removes its files and then its rows, retrying what fails.
//! - [`reindex`] and [`Classification`]: the classification requests.
//! - [`write_bundle`] and [`flat_row`]: exports of a job's results (store rows and blobs fed
//!   into `docket-export`).
//! - [`Resumable`]: resumable (tus) uploads, appended at their offset and hashed on the way;
//!   [`UploadCleaner`] removes the expired and the used ones. [`Submission::from_uploads`]
//!   turns finished ones into a job.
//! - [`publish`]: a `publish` job over a finished job's documents, to a configured target.
//! - [`remote_statuses`] and [`check_ocr_provider`]: the configured remotes and their health.
//! - [`Schedules`]: recurring jobs, checked as a submit would be; [`Scheduler`] submits each
//!   due tick's job (once, however many processes run one).

mod classify;
mod cleanup;
mod deletion;
mod error;
mod export;
mod folder;
mod languages;
mod names;
mod publish;
mod reindex;
mod remotes;
mod resumable;
mod scheduler;
mod schedules;
mod submission;
mod upload;
mod upload_cleaner;

pub use classify::{too_large as classify_too_large, Classification, Decision, CLASSIFY_LIMIT};
pub use deletion::{run_deletions, Deletion, DeletionError};
pub use docket_notify::{AddressPolicy, WebhookPolicy};
pub use error::ServiceError;
pub use export::{flat_row, write_bundle, Include};
pub use names::display_name;
pub use publish::{publish, PublishRequest};
pub use reindex::reindex;
pub use remotes::{
    check_ocr_provider, remote_statuses, ConfiguredRemote, RemoteKind, RemoteStatus,
};
pub use resumable::{Resumable, ResumableConfig, UploadRequest};
pub use scheduler::{Clock, Scheduler, SchedulerRound};
pub use schedules::{Schedules, SCHEDULES_PAGE_MAX};
pub use submission::{NoopSpec, Submission};
pub use upload::{Upload, UploadLimits};
pub use upload_cleaner::UploadCleaner;
