//! The engine's behaviour on PostgreSQL (a fresh database per test; never skipped).

mod common;

use std::sync::Arc;

use docket_store::prelude::*;

async fn open() -> Arc<dyn Store> {
    docket_store::testing::fresh_postgres().await
}

engine_suite!(open);

/// Work submitted by another process (another connection pool) wakes an idle engine through
/// LISTEN/NOTIFY, long before its next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_from_another_process_wakes_an_idle_engine() {
    use std::time::{Duration, Instant};

    use docket_core::{JobOptions, JobState};

    let url = docket_store::testing::fresh_postgres_url().await;
    let engine_store = docket_store::connect(&url).await.expect("engine's store");
    let api_store = docket_store::connect(&url).await.expect("api's store");
    let config = docket_engine::EngineConfig {
        idle_poll: Duration::from_secs(60),
        ..common::fast_config()
    };
    let running = common::start(
        engine_store,
        config,
        std::sync::Arc::new(docket_engine::NoopHandler),
    );
    // Let the engine go idle (its first claim finds nothing).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let submitted = Instant::now();
    let id = common::submit(&api_store, &common::names("n", 5), JobOptions::default()).await;
    let done = common::wait_for(&api_store, &id, Duration::from_secs(10), "completed", |j| {
        j.state == JobState::Completed
    })
    .await;
    let took = submitted.elapsed();
    assert_eq!(done.counts.succeeded, 5);
    assert!(
        took < Duration::from_secs(5),
        "woken by NOTIFY, not the 60 s poll: {took:?}"
    );
    running.stop().await;
}
