/// Why a service's run (or round) failed. The supervisor records the message and restarts the
/// service after its backoff.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServiceError(pub String);

impl ServiceError {
    /// Wraps any error as the failure of `what` (e.g. "rescuing expired leases").
    pub fn of(what: &str, error: impl std::fmt::Display) -> ServiceError {
        ServiceError(format!("{what}: {error}"))
    }
}
