//! Remotes that fail well (SPEC §4). A [`Breakers`] is told, through `docket-remote`'s
//! [`Health`](docket_remote::Health), about every transport failure and every answer of the
//! remotes this process calls; repeated failures within a short window mark a remote down in
//! the database, so that every process reaches the same verdict with no leader. A handler
//! that meets a down remote pauses its job with `remote_unavailable` ([`Breakers::pause_job`])
//! and hands its item back without spending an attempt. The [`Prober`] service probes down
//! remotes with backoff (each due probe is taken by one process) and, when one answers,
//! resumes exactly the jobs that paused for it.

mod breakers;
mod prober;

pub use breakers::Breakers;
pub use prober::{Probe, Prober};
