//! What the engine records about items is what happened to them.

use super::*;

/// Enters `loading`, then fails for good (an unreadable upload, say).
struct FailsWhileLoading;

#[async_trait]
impl Handler for FailsWhileLoading {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        ctx.enter_stage(Stage::Loading)?;
        Err(HandlerError::Permanent("the upload cannot be read".into()))
    }
}

/// An item that fails before extraction shows the stage it failed in, not `queued` (its
/// heartbeats, which carry the stage, come only every few seconds).
pub async fn a_failed_item_shows_the_stage_it_failed_in(store: Arc<dyn Store>) {
    let config = EngineConfig {
        lease: Duration::from_secs(120),
        heartbeat_every: Duration::from_secs(60),
        ..fast_config()
    };
    let running = start(store.clone(), config, Arc::new(FailsWhileLoading));
    let id = submit(&store, &names("bad", 2), JobOptions::default()).await;
    let done = wait_for(&store, &id, Duration::from_secs(10), "finished", |j| {
        j.state.is_finished()
    })
    .await;
    assert_eq!(done.counts.failed, 2);
    let items = store.list_items(&id, &ItemQuery::default()).await.unwrap();
    for item in &items.items {
        assert_eq!(item.state, docket_core::ItemState::Failed);
        assert_eq!(item.stage, "loading", "{item:?}");
    }
    running.stop().await;
}

/// Holds every item until `release` is set.
struct HoldsUntilReleased {
    release: Arc<AtomicBool>,
}

#[async_trait]
impl Handler for HoldsUntilReleased {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        ctx.enter_stage(Stage::Extracting)?;
        while !self.release.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(json!(null))
    }
}

/// One worker with items claimed ahead: `current_items` names the one it runs, not the ones
/// waiting in its local queue (which are `running` in the counts: they are leased).
pub async fn current_items_are_only_the_started_ones(store: Arc<dyn Store>) {
    let config = EngineConfig {
        workers: 1,
        prefetch: 4,
        claim_batch: 4,
        ..fast_config()
    };
    let release = Arc::new(AtomicBool::new(false));
    let handler = Arc::new(HoldsUntilReleased {
        release: release.clone(),
    });
    let running = start(store.clone(), config, handler);
    let id = submit(&store, &names("doc", 4), JobOptions::default()).await;
    let j = wait_for(
        &store,
        &id,
        Duration::from_secs(10),
        "one current item",
        |j| j.counts.running == 4 && !j.current_items.is_empty(),
    )
    .await;
    assert_eq!(
        j.current_items,
        vec!["doc-0000".to_string()],
        "{:?}",
        j.current_items
    );
    release.store(true, Ordering::SeqCst);
    let done = wait_for(&store, &id, Duration::from_secs(10), "finished", |j| {
        j.state.is_finished()
    })
    .await;
    assert_eq!(done.counts.succeeded, 4);
    assert!(done.current_items.is_empty());
    running.stop().await;
}
