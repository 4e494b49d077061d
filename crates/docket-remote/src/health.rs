//! What a remote's outage looks like to its callers: a [`Health`] (in Docket, a circuit
//! breaker whose state lives in the database) is told about every transport failure and
//! every answer, and says when the remote is down, so that calls stop early instead of
//! spending their budgets on a remote that is not there.

use async_trait::async_trait;

use crate::RemoteError;

#[async_trait]
pub trait Health: Send + Sync {
    /// Whether `remote` is marked down; asked before each request.
    async fn is_down(&self, remote: &str) -> bool;
    /// A request to `error.remote` failed at the transport level (no connection, a reset, a
    /// timeout). Answers whether the remote is now marked down.
    async fn transport_failed(&self, error: &RemoteError) -> bool;
    /// `remote` answered (with any status): it is reachable.
    async fn answered(&self, remote: &str);
}
