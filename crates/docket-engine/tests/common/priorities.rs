//! Priorities share the workers 1 : 2 : 4 and a change takes effect at once; a job with a
//! `not_before` stays `queued` until then, can be paused and cancelled before it starts, and
//! held jobs never stand in the way of claims.

use std::sync::Arc;
use std::time::{Duration, Instant};

use docket_core::{now_millis, JobOptions, JobPatch, JobState, PauseReason, Priority};
use docket_store::Store;

use super::{fast_config, names, start, submit, wait_for, StagedHandler};

/// Items each job has finished, in the order of `ids`.
async fn succeeded(store: &Arc<dyn Store>, ids: &[String]) -> Vec<i64> {
    let mut out = Vec::new();
    for id in ids {
        let job = store.get_job(id, now_millis()).await.unwrap().expect("job");
        out.push(job.counts.succeeded);
    }
    out
}

/// Waits until the jobs have finished `window` more items than at `from`, and answers each
/// job's share of them.
async fn shares_over(
    store: &Arc<dyn Store>,
    ids: &[String],
    from: &[i64],
    window: i64,
) -> Vec<f64> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now: Vec<i64> = succeeded(store, ids).await;
        let done: Vec<i64> = now.iter().zip(from).map(|(n, f)| n - f).collect();
        let total: i64 = done.iter().sum();
        if total >= window {
            return done.iter().map(|d| *d as f64 / total as f64).collect();
        }
        assert!(
            Instant::now() < deadline,
            "only {total} of {window} items finished: {done:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_within_15_percent(shares: &[f64], weights: &[f64], what: &str) {
    let sum: f64 = weights.iter().sum();
    for (share, weight) in shares.iter().zip(weights) {
        let expected = weight / sum;
        assert!(
            (share - expected).abs() <= 0.15 * expected,
            "{what}: shares {shares:?}, expected {weights:?} (each within 15%)"
        );
    }
}

fn with_priority(priority: Priority) -> JobOptions {
    JobOptions {
        priority,
        ..JobOptions::default()
    }
}

pub async fn priorities_share_the_workers_one_two_four_and_a_change_applies_at_once(
    store: Arc<dyn Store>,
) {
    let mut ids = Vec::new();
    for (name, priority) in [
        ("low", Priority::Low),
        ("normal", Priority::Normal),
        ("high", Priority::High),
    ] {
        ids.push(submit(&store, &names(name, 4_000), with_priority(priority)).await);
    }
    let handler = Arc::new(StagedHandler {
        per_stage: Duration::from_micros(500),
        ..Default::default()
    });
    let running = start(store.clone(), fast_config(), handler);
    // Past the first claims, then a window of 700 finished items.
    wait_for(&store, &ids[2], Duration::from_secs(60), "a start", |j| {
        j.counts.succeeded >= 40
    })
    .await;
    let from = succeeded(&store, &ids).await;
    let shares = shares_over(&store, &ids, &from, 700).await;
    assert_within_15_percent(&shares, &[1.0, 2.0, 4.0], "low, normal, high");

    // The low job becomes high: from then on it runs as much as the other high job.
    let changed = store
        .change_job(
            &ids[0],
            &JobPatch {
                priority: Some(Priority::High),
                max_workers: None,
            },
            now_millis(),
        )
        .await
        .unwrap();
    assert_eq!(changed.options.priority, Priority::High);
    let changed_at = Instant::now();
    let from = succeeded(&store, &ids).await;
    assert!(changed_at.elapsed() < Duration::from_secs(1));
    let shares = shares_over(&store, &ids, &from, 700).await;
    assert_within_15_percent(&shares, &[4.0, 2.0, 4.0], "after low became high");
    for id in &ids {
        store.cancel_job(id, now_millis()).await.unwrap();
    }
    running.stop().await;
}

pub async fn a_job_waits_for_not_before_and_held_jobs_do_not_block_claims(store: Arc<dyn Store>) {
    let running = start(
        store.clone(),
        fast_config(),
        Arc::new(StagedHandler::default()),
    );
    // More held jobs than a claim looks at: none of them may stand in the way.
    let far = now_millis() + 3_600_000;
    let mut held = Vec::new();
    for i in 0..70 {
        let options = JobOptions {
            not_before: Some(far),
            ..JobOptions::default()
        };
        held.push(submit(&store, &names(&format!("held{i}"), 1), options).await);
    }
    let soon = now_millis() + 1_500;
    let later = submit(
        &store,
        &names("later", 5),
        JobOptions {
            not_before: Some(soon),
            ..JobOptions::default()
        },
    )
    .await;
    let now = submit(&store, &names("now", 5), JobOptions::default()).await;
    wait_for(
        &store,
        &now,
        Duration::from_secs(10),
        "the unheld job",
        |j| j.state == JobState::Completed,
    )
    .await;
    // Until its time, the later job stays queued with nothing started.
    loop {
        let job = store.get_job(&later, now_millis()).await.unwrap().unwrap();
        if now_millis() >= soon {
            break;
        }
        assert_eq!(job.state, JobState::Queued, "before not_before: {job:#?}");
        assert_eq!(job.started_at, None);
        assert_eq!(job.options.not_before, Some(soon));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = wait_for(
        &store,
        &later,
        Duration::from_secs(10),
        "the later job",
        |j| j.state == JobState::Completed,
    )
    .await;
    assert!(done.started_at.expect("started") >= soon);

    // Pause and cancel work on a job that has not started yet; resuming keeps it waiting.
    let paused = store
        .pause_job(&held[0], PauseReason::User, now_millis())
        .await
        .unwrap();
    assert_eq!(paused.state, JobState::Paused);
    // Resumed, it is runnable again (the book calls that `running`) but still held.
    let resumed = store.resume_job(&held[0], now_millis()).await.unwrap();
    assert!(!resumed.state.is_finished(), "{resumed:#?}");
    assert!(!resumed.pause_requested);
    let cancelled = store.cancel_job(&held[1], now_millis()).await.unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert_eq!(cancelled.counts.cancelled, 1);
    for id in &held {
        let job = store.get_job(id, now_millis()).await.unwrap().unwrap();
        assert_eq!(job.counts.succeeded, 0, "{id} ran before its time");
    }
    running.stop().await;
}
