//! Conformance: job control: pause, resume, cancel, idempotency keys, deadlines, retention.

use super::*;
use std::collections::HashSet;

pub async fn pause_waits_for_in_flight_then_resume_continues(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 6, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, JobKind::ALL, 2, LEASE, 0).await.unwrap();
    let j = store.pause_job(&id, PauseReason::User, 1).await.unwrap();
    assert_eq!(j.state, JobState::Running);
    assert!(j.pause_requested);
    assert!(store
        .claim(W, JobKind::ALL, 4, LEASE, 1)
        .await
        .unwrap()
        .is_empty());
    // One finishes its stage and stops there; one completes.
    let interrupted = Completion {
        item_id: c[0].item_id,
        job_id: id.clone(),
        attempt: c[0].attempts,
        target: decide(
            Outcome::Interrupted {
                stage: Stage::Classifying,
                progress: 60.0,
                checkpoint: Some(json!({"text": "x"})),
            },
            1,
            3,
            &RetryPolicy::default(),
            2,
        ),
    };
    store
        .complete(W, vec![interrupted, succeed(&c[1])], 2)
        .await
        .unwrap();
    let j = job(&store, &id).await;
    assert_eq!(j.state, JobState::Paused);
    assert_eq!(j.pause_reason, Some(PauseReason::User));
    assert_eq!((j.counts.pending, j.counts.succeeded), (5, 1));

    let j = store.resume_job(&id, 3).await.unwrap();
    assert_eq!(j.state, JobState::Running);
    let mut seen = HashSet::new();
    loop {
        let c = store.claim(W, JobKind::ALL, 10, LEASE, 4).await.unwrap();
        if c.is_empty() {
            break;
        }
        for x in &c {
            if x.item_id == interrupted_id(&c, x) {
                assert_eq!(x.stage, Stage::Classifying);
                assert_eq!(x.checkpoint, Some(json!({"text": "x"})));
                assert_eq!(x.attempts, 1, "an interrupted attempt does not count");
            }
            assert!(seen.insert(x.item_id), "claimed twice");
        }
        store
            .complete(W, c.iter().map(succeed).collect(), 5)
            .await
            .unwrap();
    }
    assert_eq!(seen.len(), 5);
    let j = job(&store, &id).await;
    assert_eq!(j.state, JobState::Completed);
    assert_eq!(store.results(&id, 0, 100).await.unwrap().len(), 6);

    fn interrupted_id(_: &[Claimed], x: &Claimed) -> i64 {
        if x.name == "item-00000" {
            x.item_id
        } else {
            -1
        }
    }
}

pub async fn cancel_keeps_finished_and_cancels_the_rest(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 10, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, JobKind::ALL, 4, LEASE, 0).await.unwrap();
    store
        .complete(W, vec![succeed(&c[0]), fail(&c[1], true, 0)], 1)
        .await
        .unwrap();
    let j = store.cancel_job(&id, 2).await.unwrap();
    assert_eq!(j.state, JobState::Cancelled);
    assert_eq!(j.finished_at, Some(2));
    assert_eq!(
        (j.counts.succeeded, j.counts.running, j.counts.cancelled),
        (1, 2, 7)
    );
    // In-flight items report: one success is kept, an interrupted one is cancelled.
    store
        .complete(
            W,
            vec![
                succeed(&c[2]),
                Completion {
                    item_id: c[3].item_id,
                    job_id: id.clone(),
                    attempt: c[3].attempts,
                    target: ItemTarget::Cancelled,
                },
            ],
            3,
        )
        .await
        .unwrap();
    let j = job(&store, &id).await;
    assert_eq!(j.state, JobState::Cancelled);
    assert_eq!(
        (j.counts.succeeded, j.counts.running, j.counts.cancelled),
        (2, 0, 8)
    );
    assert_eq!(j.finished_at, Some(2), "a finished job never changes");
    assert_eq!(store.results(&id, 0, 100).await.unwrap().len(), 2);
    assert!(store
        .claim(W, JobKind::ALL, 10, LEASE, 4)
        .await
        .unwrap()
        .is_empty());
}

pub async fn idempotency_key_returns_the_first_job(store: Arc<dyn Store>) {
    let mut a = new_job("alice", 2, JobOptions::default());
    a.idempotency_key = Some("k1".into());
    let first = store.create_job(a.clone(), 0).await.unwrap();
    let second = store.create_job(a.clone(), 1).await.unwrap();
    assert!(first.created && !second.created);
    assert_eq!(first.job.id, second.job.id);
    a.user = "bob".into();
    let bobs = store.create_job(a, 2).await.unwrap();
    assert!(bobs.created, "keys are per user");
    assert_ne!(bobs.job.id, first.job.id);
    let empty = store
        .create_job(new_job("u", 0, JobOptions::default()), 0)
        .await;
    assert!(matches!(empty, Err(StoreError::Invalid(_))));
}

pub async fn deadlines_fail_jobs_and_retention_purges_them(store: Arc<dyn Store>) {
    let id = store
        .create_job(
            new_job(
                "u",
                4,
                JobOptions {
                    deadline_seconds: Some(1),
                    ..JobOptions::default()
                },
            ),
            0,
        )
        .await
        .unwrap()
        .job
        .id;
    let keep = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    store.claim(W, JobKind::ALL, 1, LEASE, 0).await.unwrap();
    assert_eq!(store.expire_deadlines(999).await.unwrap(), 0);
    assert_eq!(store.expire_deadlines(1_001).await.unwrap(), 1);
    let j = job(&store, &id).await;
    assert_eq!(j.state, JobState::Failed);
    assert_eq!(j.error.as_deref(), Some("deadline exceeded"));
    assert_eq!(j.counts.cancelled + j.counts.running, 4);
    assert!(
        store.purge_finished(1_000).await.unwrap().is_empty(),
        "finished at 1001, not before 1000"
    );
    assert_eq!(store.purge_finished(2_000).await.unwrap(), vec![id.clone()]);
    assert!(store.get_job(&id, 0).await.unwrap().is_none());
    assert!(
        store.get_job(&keep, 0).await.unwrap().is_some(),
        "unfinished jobs are kept"
    );
}

pub async fn illegal_controls_are_refused(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    assert!(
        matches!(store.resume_job(&id, 1).await, Err(StoreError::Rule(_))),
        "resume a queued job"
    );
    assert!(
        matches!(store.delete_job(&id).await, Err(StoreError::Rule(_))),
        "delete an unfinished job"
    );
    store.cancel_job(&id, 2).await.unwrap();
    for r in [
        store.pause_job(&id, PauseReason::User, 3).await,
        store.resume_job(&id, 3).await,
        store.cancel_job(&id, 3).await,
    ] {
        assert!(matches!(r, Err(StoreError::Rule(_))));
    }
    store.delete_job(&id).await.unwrap();
    assert!(matches!(
        store.cancel_job(&id, 4).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_job_result_is_recorded_only_while_the_job_runs(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    assert_eq!(job(&store, &id).await.result, None);
    let result = json!({"set_uuid": "0d5c8e3a-7a64-4b5f-8d2e-9c1b2a3f4e50", "rows": 3});
    assert!(store.set_job_result(&id, result.clone()).await.unwrap());
    assert_eq!(job(&store, &id).await.result, Some(result.clone()));
    let c = store.claim(W, JobKind::ALL, 1, LEASE, 1).await.unwrap();
    store.complete(W, vec![succeed(&c[0])], 2).await.unwrap();
    assert_eq!(job(&store, &id).await.state, JobState::Completed);
    // A finished job never changes, its result included.
    assert!(!store
        .set_job_result(&id, json!({"late": true}))
        .await
        .unwrap());
    assert_eq!(job(&store, &id).await.result, Some(result));
    assert!(!store
        .set_job_result("job_missing", json!({}))
        .await
        .unwrap());
}
