use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use docket_core::Stage;
use docket_store::Claimed;
use tokio_util::sync::CancellationToken;

/// Runs one item. Implementations call [`ItemContext::enter_stage`] at each stage boundary, which
/// is where a pausing job stops them (the `?` propagates [`HandlerError::Interrupted`]).
///
/// A handler must write whatever it produces idempotently, keyed by the item: an item may run
/// again after a crash or a lost lease, and must not leave a duplicate behind.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError>;
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum HandlerError {
    /// Worth retrying later: network, timeouts, a busy resource, a 5xx from a remote.
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help: corrupt or unsupported input.
    #[error("{0}")]
    Permanent(String),
    /// Stopped at a stage boundary because the job is pausing or the worker shutting down.
    #[error("interrupted at a stage boundary")]
    Interrupted,
}

/// Signals shared by every item of one job in this process.
#[derive(Debug, Default)]
pub(crate) struct JobSignal {
    pub cancel: CancellationToken,
    pub pausing: AtomicBool,
}

/// The stage and progress of an item in flight, read by the heartbeat.
#[derive(Debug)]
pub(crate) struct ProgressCell(Mutex<(Stage, f64)>);

impl ProgressCell {
    pub fn new(stage: Stage) -> ProgressCell {
        ProgressCell(Mutex::new((stage, stage.progress())))
    }
    pub fn get(&self) -> (Stage, f64) {
        match self.0.lock() {
            Ok(g) => *g,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
    pub fn set(&self, stage: Stage, progress: f64) {
        let mut g = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let progress = if progress.is_finite() {
            progress.clamp(0.0, 100.0)
        } else {
            0.0
        };
        *g = (stage, progress);
    }
}

/// What a handler knows about the item it runs, and how it reports back.
pub struct ItemContext {
    pub(crate) item: Claimed,
    pub(crate) progress: Arc<ProgressCell>,
    pub(crate) checkpoint: Mutex<Option<serde_json::Value>>,
    /// The stage an interrupted handler was about to enter: where the item resumes.
    pub(crate) stopped_before: Mutex<Option<Stage>>,
    pub(crate) job: Arc<JobSignal>,
    pub(crate) draining: Arc<AtomicBool>,
    pub(crate) metrics: Arc<crate::EngineMetrics>,
    /// Where checkpoints are saved, and as whom.
    pub(crate) store: Arc<dyn docket_store::Store>,
    pub(crate) worker: String,
    /// The stage being worked on and since when, for the stage metrics.
    pub(crate) stage_clock: Mutex<Option<(Stage, std::time::Instant)>>,
}

impl ItemContext {
    pub fn item(&self) -> &Claimed {
        &self.item
    }

    /// The stage an earlier, paused attempt stopped before; `Queued` for a fresh item.
    pub fn resume_stage(&self) -> Stage {
        self.item.stage
    }

    /// What the handler saved with [`ItemContext::save_checkpoint`] in an earlier attempt
    /// (kept across pauses, crashes and takeovers by another worker).
    pub fn checkpoint(&self) -> Option<serde_json::Value> {
        self.item.checkpoint.clone()
    }

    /// Whether the item should stop at the next stage boundary.
    pub fn should_stop(&self) -> bool {
        self.job.pausing.load(Ordering::Acquire)
            || self.draining.load(Ordering::Acquire)
            || self.job.cancel.is_cancelled()
    }

    /// Crosses a stage boundary: stops here if the job is pausing, else records the stage.
    pub fn enter_stage(&self, stage: Stage) -> Result<(), HandlerError> {
        if self.should_stop() {
            if let Ok(mut g) = self.stopped_before.lock() {
                *g = Some(stage);
            }
            return Err(HandlerError::Interrupted);
        }
        self.progress.set(stage, stage.progress());
        self.clock_stage(Some(stage));
        Ok(())
    }

    /// Ends the timed stage (counting it as completed) and starts timing `next`.
    pub(crate) fn clock_stage(&self, next: Option<Stage>) {
        let Ok(mut clock) = self.stage_clock.lock() else {
            return;
        };
        if let Some((stage, since)) = clock.take() {
            self.metrics.stage_completed(stage, since.elapsed());
        }
        *clock = next.map(|s| (s, std::time::Instant::now()));
    }

    /// Counts a failed attempt against the stage it was in.
    pub(crate) fn clock_failure(&self) {
        let current = self
            .stage_clock
            .lock()
            .ok()
            .and_then(|mut clock| clock.take())
            .map(|(stage, _)| stage);
        self.metrics
            .stage_failed(current.unwrap_or_else(|| self.progress.get().0));
    }

    /// Progress within the current stage (0–100 for the whole item).
    pub fn set_progress(&self, progress: f64) {
        let (stage, _) = self.progress.get();
        self.progress.set(stage, progress);
    }

    pub fn stage(&self) -> (Stage, f64) {
        self.progress.get()
    }

    /// Durably records state to continue from (in the current stage) if the item is paused,
    /// interrupted or taken over after this point: it is in the database when this returns, so
    /// it survives a `kill -9` of this process. Fails with `Interrupted` if this worker no
    /// longer holds the item (its lease ran out and another worker may be running it).
    pub async fn save_checkpoint(&self, value: serde_json::Value) -> Result<(), HandlerError> {
        let (stage, _) = self.progress.get();
        let saved = self
            .store
            .save_checkpoint(&self.worker, self.item.item_id, stage, value.clone())
            .await
            .map_err(|e| {
                let message = format!("saving the checkpoint failed: {e}");
                if e.is_transient() {
                    HandlerError::Transient(message)
                } else {
                    HandlerError::Permanent(message)
                }
            })?;
        if !saved {
            tracing::warn!(
                item = self.item.item_id,
                "lost the item; stopping its handler"
            );
            return Err(HandlerError::Interrupted);
        }
        if let Ok(mut g) = self.checkpoint.lock() {
            *g = Some(value);
        }
        Ok(())
    }

    /// A boundary inside the current stage (e.g. between OCR'd pages), at which a pausing job
    /// may stop the item as it stops at [`ItemContext::enter_stage`]. The item then resumes in
    /// this same stage, from its last saved checkpoint.
    pub fn stop_point(&self) -> Result<(), HandlerError> {
        if self.should_stop() {
            let (stage, _) = self.progress.get();
            if let Ok(mut g) = self.stopped_before.lock() {
                *g = Some(stage);
            }
            return Err(HandlerError::Interrupted);
        }
        Ok(())
    }

    /// The outcome of an item stopped before finishing: it resumes at the stage it stopped
    /// before (or, if cut off mid-stage, at the stage it was in) from its last checkpoint.
    pub(crate) fn interrupted(&self) -> docket_core::Outcome {
        let stopped_before = self.stopped_before.lock().ok().and_then(|g| *g);
        let stage = stopped_before.unwrap_or_else(|| self.progress.get().0);
        docket_core::Outcome::Interrupted {
            stage,
            progress: stage.progress(),
            checkpoint: self.take_checkpoint(),
        }
    }

    pub(crate) fn take_checkpoint(&self) -> Option<serde_json::Value> {
        self.checkpoint
            .lock()
            .ok()
            .and_then(|mut g| g.take())
            .or_else(|| self.item.checkpoint.clone())
    }

    /// Resolves when the item's job is cancelled; for handlers waiting on slow I/O.
    pub async fn cancelled(&self) {
        self.job.cancel.cancelled().await
    }
}

/// Does nothing and succeeds: for `noop` jobs, benchmarks and fault tests of the engine itself.
/// A payload of `Noop { sleep_ms: Some(N) }` makes each item take N ms (in one stage), to stand
/// in for real work when a test needs items to be in flight. Any other payload fails the item:
/// it was not meant for this handler.
pub struct NoopHandler;

#[async_trait]
impl Handler for NoopHandler {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        match &ctx.item().payload {
            docket_core::ItemPayload::Noop { sleep_ms: None } => {}
            docket_core::ItemPayload::Noop { sleep_ms: Some(ms) } => {
                ctx.enter_stage(Stage::Extracting)?;
                tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
            }
            docket_core::ItemPayload::Unreadable(why) => {
                return Err(HandlerError::Permanent(why.clone()))
            }
            other => {
                return Err(HandlerError::Permanent(format!(
                    "a `noop` item carries nothing to work on, but this one carries {}",
                    other.describe()
                )))
            }
        }
        Ok(serde_json::Value::Null)
    }
}

/// Removes jobs marked deleted (by a user, or by retention through
/// [`docket_store::Deletions::mark_expired`]): their files, then their rows. Called by the
/// engine's `deleter` service each round; returns how many jobs it removed.
#[async_trait]
pub trait JobCleanup: Send + Sync + 'static {
    async fn sweep(&self) -> usize;
}
