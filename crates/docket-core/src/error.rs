use crate::state::{ItemState, JobState};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoreError {
    #[error("a job cannot go from `{from}` to `{to}`")]
    IllegalJobTransition { from: JobState, to: JobState },
    #[error("an item cannot go from `{from}` to `{to}`")]
    IllegalItemTransition { from: ItemState, to: ItemState },
    #[error("cannot {action} a job that is `{state}`")]
    IllegalControl {
        action: &'static str,
        state: JobState,
    },
    #[error("unknown {what} `{value}`")]
    Unknown { what: &'static str, value: String },
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A schedule field that cannot work; `field` is its name in the request (`cron`,
    /// `timezone`, `job.source.path`, …).
    #[error("`{field}`: {reason}")]
    InvalidSchedule { field: &'static str, reason: String },
    #[error("malformed id `{0}`")]
    MalformedId(String),
}
