use std::time::Duration;

/// Whether retrying can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteErrorKind {
    /// The remote could not be reached, timed out, or answered 408, 429 or 5xx.
    Transient,
    /// The remote refused the request (another 4xx): the same request will fail again.
    Permanent,
    /// The remote is marked down (it kept failing at the transport level): the work that
    /// needs it waits until it answers again instead of spending its retries.
    Down,
}

/// A failed call, with the remote's own words where it gave any; never a credential or a
/// request URL (which may carry a key).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{remote}: {detail}")]
pub struct RemoteError {
    /// The remote's configured name.
    pub remote: String,
    pub kind: RemoteErrorKind,
    /// The HTTP status, if the remote answered.
    pub status: Option<u16>,
    pub detail: String,
    /// How long the remote asked us to wait.
    pub retry_after: Option<Duration>,
    /// The request went out but no answer came back (a timeout, a reset): the remote may
    /// have acted on it. A caller that must not repeat it looks first.
    pub may_have_arrived: bool,
}

impl RemoteError {
    /// Retrying later can help (also when the remote is down: it will come back).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            RemoteErrorKind::Transient | RemoteErrorKind::Down
        )
    }

    /// Whether the remote is marked down (see [`crate::Health`]).
    pub fn is_down(&self) -> bool {
        self.kind == RemoteErrorKind::Down
    }

    /// Whether the remote could not be reached at all (no HTTP answer): what an outage
    /// looks like, as opposed to a remote that answers with an error.
    pub fn is_transport(&self) -> bool {
        self.status.is_none() && self.is_transient()
    }
}

/// Whether a status is worth retrying (SPEC §4).
pub(crate) fn transient_status(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}
