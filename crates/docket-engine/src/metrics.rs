use std::sync::atomic::{AtomicU64, Ordering};

use docket_core::ItemTarget;

/// What this process's engine has done since it started, for `/metrics`.
#[derive(Debug, Default)]
pub struct EngineMetrics {
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    /// Handed back at a stage boundary (pause, shutdown).
    pub interrupted: AtomicU64,
    pub cancelled: AtomicU64,
    /// Outcomes dropped because another worker had taken the item over.
    pub lost: AtomicU64,
    /// Items this process took back from workers whose lease expired.
    pub takeovers: AtomicU64,
}

impl EngineMetrics {
    pub(crate) fn count(&self, target: &ItemTarget) {
        let counter = match target {
            ItemTarget::Succeeded { .. } => &self.succeeded,
            ItemTarget::Failed { .. } => &self.failed,
            ItemTarget::Retrying { .. } => &self.retried,
            ItemTarget::Pending { .. } => &self.interrupted,
            ItemTarget::Cancelled => &self.cancelled,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `(outcome, count)` pairs.
    pub fn outcomes(&self) -> [(&'static str, u64); 5] {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            ("succeeded", get(&self.succeeded)),
            ("failed", get(&self.failed)),
            ("retried", get(&self.retried)),
            ("interrupted", get(&self.interrupted)),
            ("cancelled", get(&self.cancelled)),
        ]
    }
}
