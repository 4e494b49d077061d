//! A handler that works in steps inside one stage, saving a checkpoint after each, is paused
//! between two steps and resumed: every step runs exactly once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_core::{JobOptions, JobState, PauseReason, Stage};
use docket_engine::{Handler, HandlerError, ItemContext};
use docket_store::Store;
use serde_json::json;

use super::{fast_config, names, start, submit, wait_for};

const STEPS: u64 = 12;

/// Counts every step it runs; resumes after the last step its checkpoint names.
#[derive(Default)]
pub struct SteppingHandler {
    pub steps_run: AtomicU32,
}

#[async_trait]
impl Handler for SteppingHandler {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        ctx.enter_stage(Stage::Extracting)?;
        let mut done = ctx
            .checkpoint()
            .and_then(|c| c.get("steps").and_then(|s| s.as_u64()))
            .unwrap_or(0);
        while done < STEPS {
            ctx.stop_point()?;
            tokio::time::sleep(Duration::from_millis(40)).await;
            self.steps_run.fetch_add(1, Ordering::SeqCst);
            done += 1;
            ctx.save_checkpoint(json!({ "steps": done })).await?;
        }
        ctx.enter_stage(Stage::Indexing)?;
        Ok(json!({ "steps": done }))
    }
}

pub async fn a_pause_between_checkpointed_steps_repeats_none(store: Arc<dyn Store>) {
    let handler = Arc::new(SteppingHandler::default());
    let running = start(store.clone(), fast_config(), handler.clone());
    let id = submit(&store, &names("steps", 1), JobOptions::default()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while handler.steps_run.load(Ordering::SeqCst) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the steps never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    store
        .pause_job(&id, PauseReason::User, docket_core::now_millis())
        .await
        .unwrap();
    let paused = wait_for(&store, &id, Duration::from_secs(10), "paused", |j| {
        j.state == JobState::Paused
    })
    .await;
    assert_eq!(paused.counts.pending, 1, "stopped mid-item, not finished");
    let before_resume = handler.steps_run.load(Ordering::SeqCst);
    assert!(u64::from(before_resume) < STEPS);

    store
        .resume_job(&id, docket_core::now_millis())
        .await
        .unwrap();
    let done = wait_for(&store, &id, Duration::from_secs(20), "completed", |j| {
        j.state == JobState::Completed
    })
    .await;
    assert_eq!(done.counts.succeeded, 1);
    assert_eq!(
        u64::from(handler.steps_run.load(Ordering::SeqCst)),
        STEPS,
        "the resumed item continued from its checkpoint"
    );
    running.stop().await;
}
