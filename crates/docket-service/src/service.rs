//! What a service is, and what the supervisor hands it when it starts.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::{ServiceError, ServiceStats};

/// When a service is told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAt {
    /// As soon as the process is asked to shut down (listing, webhooks, training).
    Shutdown,
    /// Only once this process's engine has drained its running items: duties that keep jobs
    /// honest (rescue, deadlines, retention) go on while the last outcomes are written.
    Drained,
}

/// A named background duty of a process.
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// Stable and unique within a process: the `service` label in `/metrics` and in logs.
    fn name(&self) -> &'static str;

    fn stop_at(&self) -> StopAt {
        StopAt::Shutdown
    }

    /// Runs until `ctx.shutdown` fires, then returns `Ok`. An `Err` (or a panic) is recorded
    /// and the service is started again after a backoff. Call [`ServiceContext::ran`] after
    /// every successful round, so `/metrics` shows when it last did its job.
    async fn run(&self, ctx: &ServiceContext) -> Result<(), ServiceError>;
}

/// Handed to [`Service::run`].
#[derive(Clone)]
pub struct ServiceContext {
    pub shutdown: CancellationToken,
    pub(crate) stats: Arc<ServiceStats>,
}

impl ServiceContext {
    /// Records a successful round now.
    pub fn ran(&self) {
        self.stats.record_run(docket_core::now_millis());
    }
}
