use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use docket_core::{ItemTarget, Stage};

/// Upper bounds (seconds) of the stage-duration histogram buckets: from a quick text file to a
/// long OCR run.
pub const STAGE_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 300.0,
];

const STAGES: usize = 8;

fn stage_index(stage: Stage) -> usize {
    match stage {
        Stage::Queued => 0,
        Stage::Loading => 1,
        Stage::Extracting => 2,
        Stage::Classifying => 3,
        Stage::Indexing => 4,
        Stage::Uploading => 5,
        Stage::Creating => 6,
        Stage::Done => 7,
    }
}

/// Per-stage counts and a duration histogram.
#[derive(Debug, Default)]
pub struct StageMetrics {
    /// Items that got through the stage.
    pub completed: AtomicU64,
    /// Items whose attempt failed in the stage.
    pub failed: AtomicU64,
    /// Cumulative: `buckets[i]` counts durations up to `STAGE_BUCKETS[i]`.
    pub buckets: [AtomicU64; STAGE_BUCKETS.len()],
    pub count: AtomicU64,
    pub sum_micros: AtomicU64,
}

impl StageMetrics {
    fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (bound, bucket) in STAGE_BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            took.as_micros().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }
}

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
    stages: [StageMetrics; STAGES],
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

    /// A stage ended well after `took`.
    pub(crate) fn stage_completed(&self, stage: Stage, took: Duration) {
        let m = &self.stages[stage_index(stage)];
        m.completed.fetch_add(1, Ordering::Relaxed);
        m.observe(took);
    }

    pub(crate) fn stage_failed(&self, stage: Stage) {
        self.stages[stage_index(stage)]
            .failed
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The metrics of one stage.
    pub fn stage(&self, stage: Stage) -> &StageMetrics {
        &self.stages[stage_index(stage)]
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
