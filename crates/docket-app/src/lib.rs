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
//! - [`publish`]: a `publish` job over a finished job's documents, to a configured target.

mod classify;
mod cleanup;
mod deletion;
mod error;
mod export;
mod folder;
mod languages;
mod publish;
mod reindex;
mod submission;
mod upload;

pub use classify::{too_large as classify_too_large, Classification, Decision, CLASSIFY_LIMIT};
pub use deletion::{run_deletions, Deletion, DeletionError};
pub use error::ServiceError;
pub use export::{flat_row, write_bundle, Include};
pub use publish::{publish, PublishRequest};
pub use reindex::reindex;
pub use submission::{NoopSpec, Submission};
pub use upload::{Upload, UploadLimits};
