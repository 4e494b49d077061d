//! Conformance: claims, fair shares, and rescue of expired leases.

use super::*;
use std::collections::HashSet;

pub async fn claim_complete_keeps_counters_and_one_result_per_item(store: Arc<dyn Store>) {
    let created = store
        .create_job(new_job("u", 25, JobOptions::default()), 1_000)
        .await
        .unwrap();
    assert!(created.created);
    let id = created.job.id.clone();
    assert_eq!(created.job.state, JobState::Queued);
    assert_eq!(created.job.counts.pending, 25);
    assert!(created.job.finished_at.is_none());

    let claimed = store
        .claim(W, JobKind::ALL, 10, 1_000 + LEASE, 1_000)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 10);
    assert!(claimed.iter().all(|c| c.attempts == 1 && c.job_id == id));
    assert_eq!(
        claimed[0].name, "item-00000",
        "items are claimed in submit order"
    );
    let j = job(&store, &id).await;
    assert_eq!(j.state, JobState::Running);
    assert_eq!((j.counts.pending, j.counts.running), (15, 10));
    assert!(j.started_at.is_some());
    assert!(j.current_items.is_empty(), "claimed, not yet started");

    let report = store
        .complete(W, claimed.iter().map(succeed).collect(), 2_000)
        .await
        .unwrap();
    assert_eq!(report.applied, 10);
    let j = job(&store, &id).await;
    assert_eq!((j.counts.running, j.counts.succeeded), (0, 10));
    assert_eq!(j.progress, 40.0);

    loop {
        let c = store
            .claim(W, JobKind::ALL, 7, 3_000 + LEASE, 3_000)
            .await
            .unwrap();
        if c.is_empty() {
            break;
        }
        store
            .complete(W, c.iter().map(succeed).collect(), 3_000)
            .await
            .unwrap();
    }
    let j = job(&store, &id).await;
    assert_eq!(j.state, JobState::Completed);
    assert_eq!(j.counts.succeeded, 25);
    assert_eq!(j.progress, 100.0);
    assert_eq!(j.finished_at, Some(3_000));
    let results = store.results(&id, 0, 1000).await.unwrap();
    assert_eq!(results.len(), 25);
    let names: HashSet<_> = results.iter().map(|r| r.name.clone()).collect();
    assert_eq!(names.len(), 25);
    assert_eq!(results[3].output, json!({"item": "item-00003"}));
}

pub async fn expired_leases_are_rescued(store: Arc<dyn Store>) {
    let id = store
        .create_job(
            new_job(
                "u",
                3,
                JobOptions {
                    max_retries: 1,
                    ..JobOptions::default()
                },
            ),
            0,
        )
        .await
        .unwrap()
        .job
        .id;
    let c = store
        .claim("dead", JobKind::ALL, 3, 1_000, 0)
        .await
        .unwrap();
    assert_eq!(
        store.rescue_expired(500).await.unwrap(),
        0,
        "leases still valid"
    );
    assert_eq!(store.rescue_expired(1_001).await.unwrap(), 3);
    let j = job(&store, &id).await;
    assert_eq!((j.counts.pending, j.counts.running), (3, 0));
    // The dead worker's late completion is refused.
    let late = store
        .complete("dead", c.iter().map(succeed).collect(), 1_002)
        .await
        .unwrap();
    assert_eq!(late.lost, 3);
    let c2 = store
        .claim("alive", JobKind::ALL, 3, 10_000, 1_003)
        .await
        .unwrap();
    assert_eq!(c2.len(), 3);
    assert!(c2.iter().all(|c| c.attempts == 2));
    // The retry budget (1) is now spent: losing them again fails them.
    assert_eq!(store.rescue_expired(20_000).await.unwrap(), 3);
    let j = job(&store, &id).await;
    assert_eq!(j.state, JobState::Completed);
    assert_eq!(j.counts.failed, 3);
    let items = store
        .list_items(&id, &ItemQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(items[0].errors.len(), 2);
    assert!(items[0].errors[0].message.contains("lease"));
}

pub async fn fair_shares_and_max_workers(store: Arc<dyn Store>) {
    let big = store
        .create_job(new_job("u", 1_000, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let small = store
        .create_job(new_job("u", 5, JobOptions::default()), 1)
        .await
        .unwrap()
        .job
        .id;
    let capped = store
        .create_job(
            new_job(
                "u",
                50,
                JobOptions {
                    max_workers: Some(2),
                    ..JobOptions::default()
                },
            ),
            2,
        )
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, JobKind::ALL, 20, LEASE, 10).await.unwrap();
    let of = |id: &str| c.iter().filter(|x| x.job_id == id).count();
    assert_eq!(of(&small), 5, "a small job is not starved by a big one");
    assert_eq!(of(&capped), 2, "max_workers caps a job across claims");
    assert_eq!(of(&big), 13);
    let more = store.claim(W, JobKind::ALL, 20, LEASE, 11).await.unwrap();
    assert_eq!(more.iter().filter(|x| x.job_id == capped).count(), 0);
}

/// A claimer only ever receives items of the kinds it asked for: a `noop`-only worker never
/// gets `process` items and vice versa, however the jobs are ordered, and a claimer of no
/// kind gets nothing.
pub async fn claims_take_only_the_asked_kinds(store: Arc<dyn Store>) {
    let noop = store
        .create_job(new_job("u", 6, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let process = store
        .create_job(
            NewJob {
                kind: JobKind::Process,
                ..new_job("u", 6, JobOptions::default())
            },
            0,
        )
        .await
        .unwrap()
        .job
        .id;
    assert!(store.claim(W, &[], 10, LEASE, 1).await.unwrap().is_empty());
    assert!(store
        .claim(W, &[JobKind::Export], 10, LEASE, 1)
        .await
        .unwrap()
        .is_empty());

    let mut seen_noop = 0;
    let mut seen_process = 0;
    for now in 2..20 {
        for c in store
            .claim("noop-only", &[JobKind::Noop], 2, now + LEASE, now)
            .await
            .unwrap()
        {
            assert_eq!((c.kind, c.job_id.as_str()), (JobKind::Noop, noop.as_str()));
            seen_noop += 1;
        }
        for c in store
            .claim("process-only", &[JobKind::Process], 2, now + LEASE, now)
            .await
            .unwrap()
        {
            assert_eq!(
                (c.kind, c.job_id.as_str()),
                (JobKind::Process, process.as_str())
            );
            seen_process += 1;
        }
    }
    assert_eq!(
        (seen_noop, seen_process),
        (6, 6),
        "each claimer drained its own kind"
    );
    let noop_job = job(&store, &noop).await;
    let process_job = job(&store, &process).await;
    assert_eq!((noop_job.counts.running, noop_job.counts.pending), (6, 0));
    assert_eq!(
        (process_job.counts.running, process_job.counts.pending),
        (6, 0)
    );
}

/// `current_items` names the items a worker has started, not those it claimed ahead and holds
/// in its local queue; a new claim of an item starts it afresh.
pub async fn only_started_items_are_current(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 5, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let claimed = store.claim(W, JobKind::ALL, 5, 1_000, 0).await.unwrap();
    assert_eq!(claimed.len(), 5);
    let j = job(&store, &id).await;
    assert_eq!(j.counts.running, 5);
    assert!(j.current_items.is_empty(), "{:?}", j.current_items);
    // Two are picked up; three still wait.
    let updates: Vec<crate::ProgressUpdate> = claimed
        .iter()
        .enumerate()
        .map(|(i, c)| crate::ProgressUpdate {
            item_id: c.item_id,
            stage: if i < 2 {
                Stage::Extracting
            } else {
                Stage::Queued
            },
            progress: if i < 2 { 40.0 } else { 0.0 },
            started: i < 2,
        })
        .collect();
    store.heartbeat(W, &updates, 2_000, 500).await.unwrap();
    let j = job(&store, &id).await;
    assert_eq!(
        j.current_items,
        vec![claimed[0].name.clone(), claimed[1].name.clone()]
    );
    // The lease lapses; claimed again, the items are only claimed, not started.
    assert_eq!(store.rescue_expired(2_001).await.unwrap(), 5);
    store
        .claim(W, JobKind::ALL, 5, 10_000, 2_002)
        .await
        .unwrap();
    assert!(job(&store, &id).await.current_items.is_empty());
}
