//! Conformance: completing items: idempotence, retries, failure streaks.

use super::*;

pub async fn completing_twice_is_idempotent_and_lost_items_are_skipped(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 3, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let claimed = store.claim(W, JobKind::ALL, 3, LEASE, 0).await.unwrap();
    let first = store
        .complete(W, vec![succeed(&claimed[0])], 1)
        .await
        .unwrap();
    assert_eq!((first.applied, first.lost), (1, 0));
    // The same completion again (a retried flush), and one from a worker that does not hold it.
    let again = store
        .complete(W, vec![succeed(&claimed[0])], 2)
        .await
        .unwrap();
    assert_eq!((again.applied, again.lost), (0, 1));
    let other = store
        .complete("worker-b", vec![succeed(&claimed[1])], 2)
        .await
        .unwrap();
    assert_eq!((other.applied, other.lost), (0, 1));
    let j = job(&store, &id).await;
    assert_eq!((j.counts.succeeded, j.counts.running), (1, 2));
    assert_eq!(store.results(&id, 0, 10).await.unwrap().len(), 1);
    // Heartbeats only extend what the worker still holds.
    let held = store
        .heartbeat(
            W,
            &claimed
                .iter()
                .map(|c| crate::ProgressUpdate {
                    item_id: c.item_id,
                    stage: Stage::Extracting,
                    progress: 42.0,
                    started: true,
                })
                .collect::<Vec<_>>(),
            2 * LEASE,
            5,
        )
        .await
        .unwrap();
    let mut held = held;
    held.sort();
    assert_eq!(held, vec![claimed[1].item_id, claimed[2].item_id]);
    let items = store
        .list_items(
            &id,
            &ItemQuery {
                state: Some(ItemState::Running),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(items
        .items
        .iter()
        .all(|i| i.stage == "extracting" && i.progress == 42.0));
}

/// A worker whose lease lapsed and that then claimed the same item again (one process keeps
/// one worker id) still holds it, but under a later attempt: the first attempt's outcome,
/// arriving late, is stale and must not be applied to the second.
pub async fn a_stale_outcome_applies_only_to_its_own_attempt(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let first = store.claim(W, JobKind::ALL, 1, 1_000, 0).await.unwrap();
    assert_eq!(first[0].attempts, 1);
    assert_eq!(store.rescue_expired(1_001).await.unwrap(), 1);
    let second = store
        .claim(W, JobKind::ALL, 1, 100_000, 1_002)
        .await
        .unwrap();
    assert_eq!(
        (second[0].item_id, second[0].attempts),
        (first[0].item_id, 2)
    );
    // The first attempt's failure arrives now: same worker, same item, stale attempt.
    let stale = store
        .complete(W, vec![fail(&first[0], false, 1_003)], 1_003)
        .await
        .unwrap();
    assert_eq!((stale.applied, stale.lost), (0, 1));
    let j = job(&store, &id).await;
    assert_eq!((j.counts.running, j.counts.failed), (1, 0), "still running");
    // The second attempt's own outcome applies.
    let own = store
        .complete(W, vec![succeed(&second[0])], 1_004)
        .await
        .unwrap();
    assert_eq!((own.applied, own.lost), (1, 0));
    let j = job(&store, &id).await;
    assert_eq!((j.counts.succeeded, j.state), (1, JobState::Completed));
}

pub async fn transient_failures_retry_then_permanent_fail(store: Arc<dyn Store>) {
    let options = JobOptions {
        max_retries: 2,
        auto_pause_after: 0,
        ..JobOptions::default()
    };
    let id = store
        .create_job(new_job("u", 2, options), 0)
        .await
        .unwrap()
        .job
        .id;
    let mut now = 0;
    let c = store
        .claim(W, JobKind::ALL, 2, now + LEASE, now)
        .await
        .unwrap();
    // Item 0 fails transiently, item 1 permanently.
    store
        .complete(
            W,
            vec![fail(&c[0], true, now), fail(&c[1], false, now)],
            now,
        )
        .await
        .unwrap();
    let j = job(&store, &id).await;
    assert_eq!((j.counts.retrying, j.counts.failed), (1, 1));
    // Not due yet: nothing to claim.
    assert!(store
        .claim(W, JobKind::ALL, 2, now + LEASE, now)
        .await
        .unwrap()
        .is_empty());
    for attempt in 2..=3 {
        now += 10_000;
        let c = store
            .claim(W, JobKind::ALL, 2, now + LEASE, now)
            .await
            .unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].attempts, attempt);
        store
            .complete(W, vec![fail(&c[0], true, now)], now)
            .await
            .unwrap();
    }
    let j = job(&store, &id).await;
    assert_eq!(
        j.state,
        JobState::Completed,
        "retry budget of 2 is spent after 3 attempts"
    );
    assert_eq!(j.counts.failed, 2);
    let items = store
        .list_items(&id, &ItemQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(items[0].errors.len(), 3);
    assert!(items[0].errors.iter().all(|e| e.transient));
    assert_eq!(
        items[0]
            .errors
            .iter()
            .map(|e| e.attempt)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(items[1].errors.len(), 1);
    assert!(!items[1].errors[0].transient);
    assert!(items[1].errors[0].message.contains("boom"));
}

pub async fn consecutive_failures_pause_and_resume_requeues_that_streak(store: Arc<dyn Store>) {
    let options = JobOptions {
        max_retries: 0,
        auto_pause_after: 3,
        ..JobOptions::default()
    };
    let id = store
        .create_job(new_job("u", 10, options), 0)
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, JobKind::ALL, 5, LEASE, 0).await.unwrap();
    // One success, then three failures in a row, one item still running.
    store
        .complete(
            W,
            vec![
                succeed(&c[0]),
                fail(&c[1], false, 1),
                fail(&c[2], false, 1),
                fail(&c[3], false, 1),
            ],
            1,
        )
        .await
        .unwrap();
    let j = job(&store, &id).await;
    assert_eq!(
        j.state,
        JobState::Running,
        "pause lands once nothing is in flight"
    );
    assert!(j.pause_requested);
    assert!(
        store
            .claim(W, JobKind::ALL, 5, LEASE, 2)
            .await
            .unwrap()
            .is_empty(),
        "no new items start"
    );
    store.complete(W, vec![succeed(&c[4])], 3).await.unwrap();
    let j = job(&store, &id).await;
    assert_eq!(j.state, JobState::Paused);
    assert_eq!(j.pause_reason, Some(PauseReason::ConsecutiveFailures));
    assert_eq!(j.counts.failed, 3);

    let j = store.resume_job(&id, 4).await.unwrap();
    assert_eq!(j.state, JobState::Running);
    assert_eq!(j.consecutive_failures, 0);
    assert_eq!(
        (j.counts.failed, j.counts.pending),
        (0, 8),
        "exactly the streak went back"
    );
    let again = store.claim(W, JobKind::ALL, 3, LEASE, 5).await.unwrap();
    let names: Vec<_> = again.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["item-00001", "item-00002", "item-00003"]);
}

pub async fn duplicate_completions_in_one_batch_count_once(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 2, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, JobKind::ALL, 2, LEASE, 0).await.unwrap();
    let report = store
        .complete(W, vec![succeed(&c[0]), succeed(&c[0]), succeed(&c[1])], 1)
        .await
        .unwrap();
    assert_eq!((report.applied, report.lost), (2, 1));
    let j = job(&store, &id).await;
    assert_eq!(j.counts.succeeded, 2);
    assert_eq!(j.state, JobState::Completed);
}
