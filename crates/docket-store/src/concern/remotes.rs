//! Remotes' circuit breakers (SPEC §4), shared by every process, and the jobs paused because
//! a remote they need is down.

use async_trait::async_trait;
use docket_core::{BreakerPolicy, Millis, RemoteHealth};

use crate::*;

#[async_trait]
pub trait RemoteStore: Send + Sync + 'static {
    /// Records a transport-level failure of `remote`; answers its health afterwards (down if
    /// this failure, or an earlier one, tripped the breaker).
    async fn remote_failed(
        &self,
        remote: &str,
        error: &str,
        policy: BreakerPolicy,
        now: Millis,
    ) -> Result<RemoteHealth, StoreError>;

    /// `remote` answered: its count of failures starts again (no-op unless it is up with
    /// failures counted).
    async fn remote_answered(&self, remote: &str, now: Millis) -> Result<(), StoreError>;

    /// Every remote that ever failed, by name.
    async fn remote_health(&self) -> Result<Vec<RemoteHealth>, StoreError>;

    /// Takes the probe of a down remote that is due (its `next_probe_at` passed and
    /// `probes` still as read), setting when the next one is due. Answers whether this
    /// caller is the one to probe: of several processes, exactly one gets each probe.
    async fn take_probe(
        &self,
        remote: &str,
        probes: u32,
        next_probe_at: Millis,
        now: Millis,
    ) -> Result<bool, StoreError>;

    /// Pauses `job_id` with `remote_unavailable` because it needs `remote`, if `remote` is
    /// down (checked in the same transaction). Answers false if the remote is up, so that the
    /// caller retries instead. A job paused by its user, or finished, is left as it is.
    async fn pause_for_remote(
        &self,
        job_id: &str,
        remote: &str,
        now: Millis,
    ) -> Result<bool, StoreError>;

    /// `remote` answered a probe: marks it up and resumes the jobs that paused for it (only
    /// those still paused with `remote_unavailable`). Answers their ids.
    async fn remote_back(&self, remote: &str, now: Millis) -> Result<Vec<String>, StoreError>;
}
