use std::time::Duration;

use docket_core::RetryPolicy;

/// How one process's engine behaves. Defaults suit a laptop; tests shorten the timings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Items run at once by this process (the worker pool).
    pub workers: usize,
    /// Items claimed and waiting locally, beyond those running: lets one claim serve many quick
    /// items. Claimed items are leased and heartbeated like running ones.
    pub prefetch: usize,
    /// Largest claim in one transaction.
    pub claim_batch: usize,
    pub lease: Duration,
    pub heartbeat_every: Duration,
    /// How often an idle engine looks for work when nothing woke it.
    pub idle_poll: Duration,
    pub control_every: Duration,
    pub rescue_every: Duration,
    /// Outcomes are written together at most this long after the first one of a batch.
    pub flush_every: Duration,
    pub flush_max: usize,
    pub retry: RetryPolicy,
    /// Finished jobs older than this are deleted. `None` keeps them.
    pub retention: Option<Duration>,
    pub retention_every: Duration,
    /// How long a graceful shutdown lets running items reach a stage boundary.
    pub shutdown_grace: Duration,
    pub worker_id: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        EngineConfig {
            workers,
            prefetch: (workers * 4).max(16),
            claim_batch: 500,
            lease: Duration::from_secs(30),
            heartbeat_every: Duration::from_secs(10),
            idle_poll: Duration::from_millis(250),
            control_every: Duration::from_millis(200),
            rescue_every: Duration::from_secs(5),
            flush_every: Duration::from_millis(20),
            flush_max: 1000,
            retry: RetryPolicy::default(),
            retention: Some(Duration::from_secs(7 * 24 * 3600)),
            retention_every: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(30),
            worker_id: default_worker_id(),
        }
    }
}

/// Host, process id and a random suffix: unique per incarnation, readable in the database.
pub fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    format!(
        "{host}:{}:{:06x}",
        std::process::id(),
        rand::random::<u32>() & 0xff_ffff
    )
}

impl EngineConfig {
    pub fn validate(&self) -> Result<(), crate::EngineError> {
        let bad = |m: &str| Err(crate::EngineError::Config(m.into()));
        if self.workers == 0 {
            return bad("workers must be at least 1 (use no engine for an API-only process)");
        }
        if self.heartbeat_every >= self.lease {
            return bad("heartbeat_every must be shorter than lease");
        }
        if self.claim_batch == 0 || self.flush_max == 0 {
            return bad("claim_batch and flush_max must be at least 1");
        }
        Ok(())
    }
}
