//! The conformance suite every backend must pass. A backend's test file instantiates it with
//! [`conformance_suite!`](crate::conformance_suite) and a function that opens a fresh, empty store.

use std::collections::HashSet;
use std::sync::Arc;

use docket_core::{
    decide, ItemState, ItemTarget, JobKind, JobOptions, JobState, Outcome, PauseReason,
    RetryPolicy, Stage,
};
use serde_json::json;

mod checkpoints;
pub use checkpoints::*;

use crate::{
    ChangeCursor, Claimed, Completion, ItemQuery, JobQuery, NewItem, NewJob, Store, StoreError,
};

/// Generates one `#[tokio::test]` per conformance case, each on a fresh store from `$open`.
#[macro_export]
macro_rules! conformance_suite {
    ($open:path) => {
        $crate::conformance_suite!(@cases $open;
            schema_refuses_exactly_the_illegal_transitions,
            claim_complete_keeps_counters_and_one_result_per_item,
            completing_twice_is_idempotent_and_lost_items_are_skipped,
            transient_failures_retry_then_permanent_fail,
            consecutive_failures_pause_and_resume_requeues_that_streak,
            pause_waits_for_in_flight_then_resume_continues,
            cancel_keeps_finished_and_cancels_the_rest,
            expired_leases_are_rescued,
            fair_shares_and_max_workers,
            idempotency_key_returns_the_first_job,
            pagination_and_filters,
            deadlines_fail_jobs_and_retention_purges_them,
            illegal_controls_are_refused,
            sources_are_listed_under_a_lease_and_sealed,
            an_empty_source_fails_the_job,
            tokens_are_stored_hashed_and_revocable,
            documents_are_written_once_per_item,
            duplicate_completions_in_one_batch_count_once,
            search_ranks_highlights_filters_and_stays_consistent,
            job_stats_sum_the_counters_by_state,
            item_changes_come_in_commit_order_and_resume_from_a_cursor,
            webhooks_are_due_once_finished_and_record_every_attempt,
            categories_labels_models_and_processed_documents,
            checkpoints_are_saved_only_by_the_holder_and_survive_a_takeover,
        );
    };
    (@cases $open:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $open().await;
                $crate::conformance::$case(store).await;
            }
        )+
    };
}

const W: &str = "worker-a";
const LEASE: i64 = 60_000;

fn new_job(user: &str, n: usize, options: JobOptions) -> NewJob {
    NewJob {
        id: None,
        user: user.into(),
        kind: JobKind::Noop,
        options,
        idempotency_key: None,
        source: None,
        items: (0..n)
            .map(|i| NewItem {
                name: format!("item-{i:05}"),
                payload: json!({"n": i}),
            })
            .collect(),
    }
}

fn succeed(c: &Claimed) -> Completion {
    Completion {
        item_id: c.item_id,
        job_id: c.job_id.clone(),
        target: ItemTarget::Succeeded {
            output: json!({"item": c.name}),
        },
    }
}

fn fail(c: &Claimed, transient: bool, now: i64) -> Completion {
    Completion {
        item_id: c.item_id,
        job_id: c.job_id.clone(),
        target: decide(
            Outcome::Failed {
                message: format!("boom {}", c.name),
                transient,
            },
            c.attempts,
            c.max_retries,
            &RetryPolicy {
                base_ms: 100,
                factor: 2.0,
                cap_ms: 1_000,
            },
            now,
        ),
    }
}

async fn job(store: &Arc<dyn Store>, id: &str) -> docket_core::Job {
    store.get_job(id, 0).await.unwrap().expect("job exists")
}

pub async fn schema_refuses_exactly_the_illegal_transitions(store: Arc<dyn Store>) {
    for from in JobState::ALL {
        for to in JobState::ALL.iter().filter(|t| *t != from) {
            let accepted = store.probe_job_transition(*from, *to).await.unwrap();
            assert_eq!(accepted, from.can_transition_to(*to), "job {from} -> {to}");
        }
    }
    for from in ItemState::ALL {
        for to in ItemState::ALL.iter().filter(|t| *t != from) {
            let accepted = store.probe_item_transition(*from, *to).await.unwrap();
            assert_eq!(accepted, from.can_transition_to(*to), "item {from} -> {to}");
        }
    }
}

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

    let claimed = store.claim(W, 10, 1_000 + LEASE, 1_000).await.unwrap();
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
    assert_eq!(j.current_items.len(), 8);

    let report = store
        .complete(W, claimed.iter().map(succeed).collect(), 2_000)
        .await
        .unwrap();
    assert_eq!(report.applied, 10);
    let j = job(&store, &id).await;
    assert_eq!((j.counts.running, j.counts.succeeded), (0, 10));
    assert_eq!(j.progress, 40.0);

    loop {
        let c = store.claim(W, 7, 3_000 + LEASE, 3_000).await.unwrap();
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

pub async fn completing_twice_is_idempotent_and_lost_items_are_skipped(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 3, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let claimed = store.claim(W, 3, LEASE, 0).await.unwrap();
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
    let c = store.claim(W, 2, now + LEASE, now).await.unwrap();
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
        .claim(W, 2, now + LEASE, now)
        .await
        .unwrap()
        .is_empty());
    for attempt in 2..=3 {
        now += 10_000;
        let c = store.claim(W, 2, now + LEASE, now).await.unwrap();
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
    let c = store.claim(W, 5, LEASE, 0).await.unwrap();
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
        store.claim(W, 5, LEASE, 2).await.unwrap().is_empty(),
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
    let again = store.claim(W, 3, LEASE, 5).await.unwrap();
    let names: Vec<_> = again.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["item-00001", "item-00002", "item-00003"]);
}

pub async fn pause_waits_for_in_flight_then_resume_continues(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 6, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, 2, LEASE, 0).await.unwrap();
    let j = store.pause_job(&id, PauseReason::User, 1).await.unwrap();
    assert_eq!(j.state, JobState::Running);
    assert!(j.pause_requested);
    assert!(store.claim(W, 4, LEASE, 1).await.unwrap().is_empty());
    // One finishes its stage and stops there; one completes.
    let interrupted = Completion {
        item_id: c[0].item_id,
        job_id: id.clone(),
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
        let c = store.claim(W, 10, LEASE, 4).await.unwrap();
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
    let c = store.claim(W, 4, LEASE, 0).await.unwrap();
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
    assert!(store.claim(W, 10, LEASE, 4).await.unwrap().is_empty());
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
    let c = store.claim("dead", 3, 1_000, 0).await.unwrap();
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
    let c2 = store.claim("alive", 3, 10_000, 1_003).await.unwrap();
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
    let c = store.claim(W, 20, LEASE, 10).await.unwrap();
    let of = |id: &str| c.iter().filter(|x| x.job_id == id).count();
    assert_eq!(of(&small), 5, "a small job is not starved by a big one");
    assert_eq!(of(&capped), 2, "max_workers caps a job across claims");
    assert_eq!(of(&big), 13);
    let more = store.claim(W, 20, LEASE, 11).await.unwrap();
    assert_eq!(more.iter().filter(|x| x.job_id == capped).count(), 0);
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

pub async fn pagination_and_filters(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            store
                .create_job(
                    new_job(if i % 2 == 0 { "a" } else { "b" }, 3, JobOptions::default()),
                    i,
                )
                .await
                .unwrap()
                .job
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_jobs(
                &JobQuery {
                    user: Some("a".into()),
                    limit: 2,
                    cursor: cursor.clone(),
                    ..Default::default()
                },
                10,
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|j| j.id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec![ids[4].clone(), ids[2].clone(), ids[0].clone()],
        "newest first, user a only"
    );
    store.cancel_job(&ids[0], 20).await.unwrap();
    let cancelled = store
        .list_jobs(
            &JobQuery {
                state: Some(JobState::Cancelled),
                ..Default::default()
            },
            30,
        )
        .await
        .unwrap();
    assert_eq!(cancelled.items.len(), 1);
    let page1 = store
        .list_items(
            &ids[1],
            &ItemQuery {
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page1.items.len(), 2);
    let after: i64 = page1.next_cursor.expect("more").parse().unwrap();
    let page2 = store
        .list_items(
            &ids[1],
            &ItemQuery {
                limit: 2,
                after: Some(after),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page2.items.len(), 1);
    assert!(page2.next_cursor.is_none());
    assert!(store
        .get_job("job_00000000000000000000000000000000", 0)
        .await
        .unwrap()
        .is_none());
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
    store.claim(W, 1, LEASE, 0).await.unwrap();
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

fn sourced_job(user: &str) -> NewJob {
    NewJob {
        id: None,
        user: user.into(),
        kind: JobKind::Process,
        options: JobOptions::default(),
        idempotency_key: None,
        items: Vec::new(),
        source: Some(json!({"path": "/srv/scans"})),
    }
}

fn listed(range: std::ops::Range<usize>) -> Vec<NewItem> {
    range
        .map(|i| NewItem {
            name: format!("f-{i:03}"),
            payload: json!({"path": i}),
        })
        .collect()
}

pub async fn sources_are_listed_under_a_lease_and_sealed(store: Arc<dyn Store>) {
    let created = store.create_job(sourced_job("u"), 0).await.unwrap();
    let id = created.job.id.clone();
    assert_eq!(created.job.counts.total, 0);
    let listing = store
        .claim_listing("lister-a", 1_000, 0)
        .await
        .unwrap()
        .expect("a listing");
    assert_eq!(listing.job_id, id);
    assert_eq!(listing.source, json!({"path": "/srv/scans"}));
    assert_eq!(listing.listed, 0);
    assert_eq!(listing.user, "u");
    assert!(
        store
            .claim_listing("lister-b", 1_000, 10)
            .await
            .unwrap()
            .is_none(),
        "leased"
    );
    store
        .add_items(&id, "lister-a", listed(0..3), 1_000, 20)
        .await
        .unwrap();
    // Items are worked on while the listing goes on, and the job cannot complete before it ends.
    let c = store.claim(W, 10, LEASE, 30).await.unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].user, "u");
    store
        .complete(W, c.iter().map(succeed).collect(), 40)
        .await
        .unwrap();
    let j = job(&store, &id).await;
    assert_eq!(j.state, JobState::Running, "not sealed yet: {j:?}");
    assert_eq!(j.counts.total, 3);
    // lister-a dies; lister-b takes over after the lease and skips what was listed.
    let again = store
        .claim_listing("lister-b", 5_000, 1_001)
        .await
        .unwrap()
        .expect("taken over");
    assert_eq!(again.listed, 3);
    assert!(
        store
            .add_items(&id, "lister-a", listed(3..4), 9_000, 1_002)
            .await
            .is_err(),
        "lost its lease"
    );
    store
        .add_items(&id, "lister-b", listed(3..5), 5_000, 1_003)
        .await
        .unwrap();
    let sealed = store.seal_job(&id, "lister-b", 1_004).await.unwrap();
    assert_eq!(sealed.counts.total, 5);
    assert_eq!(sealed.state, JobState::Running);
    let c = store.claim(W, 10, LEASE, 1_005).await.unwrap();
    assert_eq!(
        c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["f-003", "f-004"]
    );
    store
        .complete(W, c.iter().map(succeed).collect(), 1_006)
        .await
        .unwrap();
    assert_eq!(job(&store, &id).await.state, JobState::Completed);
    assert!(
        store
            .claim_listing("lister-c", 9_000, 9_000)
            .await
            .unwrap()
            .is_none(),
        "sealed jobs are not listed again"
    );
}

pub async fn an_empty_source_fails_the_job(store: Arc<dyn Store>) {
    let id = store.create_job(sourced_job("u"), 0).await.unwrap().job.id;
    let listing = store
        .claim_listing("lister", 1_000, 0)
        .await
        .unwrap()
        .expect("listing");
    let j = store.seal_job(&listing.job_id, "lister", 1).await.unwrap();
    assert_eq!(j.state, JobState::Failed);
    assert!(j.error.unwrap().contains("no files"));
    let other = store.create_job(sourced_job("u"), 2).await.unwrap().job.id;
    store
        .claim_listing("lister", 1_000, 2)
        .await
        .unwrap()
        .expect("listing");
    let failed = store
        .fail_job(&other, "cannot read /srv/scans: permission denied", 3)
        .await
        .unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("cannot read /srv/scans: permission denied")
    );
    assert!(
        store
            .add_items(&other, "lister", listed(0..1), 1_000, 4)
            .await
            .is_err(),
        "a finished job takes no items"
    );
    assert_ne!(id, other);
}

pub async fn tokens_are_stored_hashed_and_revocable(store: Arc<dyn Store>) {
    let hash = "a".repeat(64);
    let t = store
        .create_token("alice", &hash, Some("laptop"), 5)
        .await
        .unwrap();
    assert!(t.id.starts_with("tok_"));
    assert!(!t.id.contains(&hash), "the id does not reveal the hash");
    assert_eq!(
        store.token_user(&hash).await.unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(store.token_user(&"b".repeat(64)).await.unwrap(), None);
    assert_eq!(store.list_tokens().await.unwrap(), vec![t.clone()]);
    assert!(store.revoke_token(&t.id, 6).await.unwrap());
    assert!(
        !store.revoke_token(&t.id, 7).await.unwrap(),
        "already revoked"
    );
    assert_eq!(store.token_user(&hash).await.unwrap(), None);
    assert_eq!(store.list_tokens().await.unwrap()[0].revoked_at, Some(6));
}

pub async fn documents_are_written_once_per_item(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, 1, LEASE, 0).await.unwrap();
    let doc = |text: &str| crate::NewDocument {
        user: "u".into(),
        job_id: id.clone(),
        item_id: c[0].item_id,
        name: "scan.txt".into(),
        sha256: "0".repeat(64),
        media_type: "text/plain".into(),
        size: 5,
        pages: 1,
        text: text.into(),
        category: None,
        confidence: None,
        metadata: json!({"encoding": "utf-8"}),
        options_key: String::new(),
    };
    let first = store.put_document(doc("first"), 1).await.unwrap();
    let second = store.put_document(doc("second"), 2).await.unwrap();
    assert_eq!(first, second, "a retried item updates its document");
    let d = store.get_document(&first).await.unwrap().expect("document");
    assert_eq!(d.text, "second");
    assert_eq!(d.user, "u");
    assert_eq!(d.metadata, json!({"encoding": "utf-8"}));
    let items = store
        .list_items(&id, &ItemQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(items[0].document_id.as_deref(), Some(first.as_str()));
    store.complete(W, vec![succeed(&c[0])], 3).await.unwrap();
    store.delete_job(&id).await.unwrap();
    let kept = store
        .get_document(&first)
        .await
        .unwrap()
        .expect("documents outlive their job");
    assert_eq!(kept.text, "second");
    assert!(store.get_document("doc_missing").await.unwrap().is_none());
}

pub async fn duplicate_completions_in_one_batch_count_once(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 2, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, 2, LEASE, 0).await.unwrap();
    let report = store
        .complete(W, vec![succeed(&c[0]), succeed(&c[0]), succeed(&c[1])], 1)
        .await
        .unwrap();
    assert_eq!((report.applied, report.lost), (2, 1));
    let j = job(&store, &id).await;
    assert_eq!(j.counts.succeeded, 2);
    assert_eq!(j.state, JobState::Completed);
}

pub async fn search_ranks_highlights_filters_and_stays_consistent(store: Arc<dyn Store>) {
    let texts = [
        (
            "invoice-2023.txt",
            "Invoice for consulting services. Payment of the invoice is due in thirty days.",
        ),
        (
            "letter.txt",
            "Dear Sir, please find attached the invoice we discussed.",
        ),
        (
            "minutes.txt",
            "Minutes of the board meeting: the budget was approved.",
        ),
    ];
    let id = store
        .create_job(new_job("alice", texts.len(), JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let other = store
        .create_job(new_job("bob", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, 10, LEASE, 0).await.unwrap();
    let mut docs = Vec::new();
    for (claimed, (name, text)) in c.iter().filter(|c| c.job_id == id).zip(texts) {
        let d = crate::NewDocument {
            user: "alice".into(),
            job_id: id.clone(),
            item_id: claimed.item_id,
            name: name.into(),
            sha256: "0".repeat(64),
            media_type: "text/plain".into(),
            size: text.len() as i64,
            pages: 1,
            text: text.into(),
            category: (name == "letter.txt").then(|| "correspondence".to_string()),
            confidence: None,
            metadata: json!({}),
            options_key: String::new(),
        };
        docs.push(store.put_document(d, 1).await.unwrap());
    }
    let bobs = c.iter().find(|c| c.job_id == other).unwrap();
    store
        .put_document(
            crate::NewDocument {
                user: "bob".into(),
                job_id: other.clone(),
                item_id: bobs.item_id,
                name: "bob.txt".into(),
                sha256: "1".repeat(64),
                media_type: "text/plain".into(),
                size: 10,
                pages: 1,
                text: "Bob's own invoice".into(),
                category: None,
                confidence: None,
                metadata: json!({}),
                options_key: String::new(),
            },
            1,
        )
        .await
        .unwrap();
    let search = |q: &str| crate::SearchQuery {
        user: "alice".into(),
        q: q.into(),
        ..Default::default()
    };

    let r = store.search(&search("invoices")).await.unwrap();
    assert_eq!(r.total, 2, "stemmed, and only alice's: {r:?}");
    assert_eq!(
        r.hits[0].name, "invoice-2023.txt",
        "the name and two mentions rank first"
    );
    assert!(r.hits[0].score >= r.hits[1].score);
    assert!(
        r.hits
            .iter()
            .all(|h| h.snippet.contains("<mark>") && h.snippet.contains("</mark>")),
        "{r:?}"
    );
    assert_eq!(
        store
            .search(&search("invoice discussed"))
            .await
            .unwrap()
            .total,
        1,
        "all words must match"
    );
    assert_eq!(
        store
            .search(&search("\"invoice\" OR * ( NEAR budget"))
            .await
            .unwrap()
            .total,
        0,
        "operators are words"
    );
    assert_eq!(store.search(&search("  !!  ")).await.unwrap().total, 0);
    let by_category = crate::SearchQuery {
        category: Some("correspondence".into()),
        ..search("invoice")
    };
    assert_eq!(
        store.search(&by_category).await.unwrap().hits[0].document_id,
        docs[1]
    );
    let by_job = crate::SearchQuery {
        job_id: Some(other.clone()),
        ..search("invoice")
    };
    assert_eq!(
        store.search(&by_job).await.unwrap().total,
        0,
        "bob's job is not alice's"
    );
    let paged = crate::SearchQuery {
        limit: 1,
        offset: 1,
        ..search("invoice")
    };
    let page = store.search(&paged).await.unwrap();
    assert_eq!((page.total, page.hits.len()), (2, 1));

    // The index follows the documents: a retried item rewrites its text.
    let (claimed, _) = (c.iter().find(|c| c.job_id == id).unwrap(), ());
    store
        .put_document(
            crate::NewDocument {
                user: "alice".into(),
                job_id: id.clone(),
                item_id: claimed.item_id,
                name: "invoice-2023.txt".into(),
                sha256: "0".repeat(64),
                media_type: "text/plain".into(),
                size: 5,
                pages: 1,
                text: "Receipt only.".into(),
                category: None,
                confidence: None,
                metadata: json!({}),
                options_key: String::new(),
            },
            2,
        )
        .await
        .unwrap();
    assert_eq!(store.search(&search("consulting")).await.unwrap().total, 0);
    assert_eq!(store.search(&search("receipt")).await.unwrap().total, 1);
}

pub async fn job_stats_sum_the_counters_by_state(store: Arc<dyn Store>) {
    assert!(store.job_stats().await.unwrap().is_empty());
    let done = store
        .create_job(new_job("u", 3, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    store
        .create_job(new_job("v", 4, JobOptions::default()), 0)
        .await
        .unwrap();
    let c = store.claim(W, 10, LEASE, 0).await.unwrap();
    let mine: Vec<_> = c.iter().filter(|c| c.job_id == done).map(succeed).collect();
    store.complete(W, mine, 1).await.unwrap();
    let stats = store.job_stats().await.unwrap();
    let completed = stats
        .iter()
        .find(|(s, _, _)| *s == JobState::Completed)
        .expect("completed");
    assert_eq!((completed.1, completed.2.succeeded), (1, 3));
    let running = stats
        .iter()
        .find(|(s, _, _)| *s == JobState::Running)
        .expect("running");
    assert_eq!((running.1, running.2.total, running.2.running), (1, 4, 4));
}

pub async fn item_changes_come_in_commit_order_and_resume_from_a_cursor(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 6, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let start = ChangeCursor::default();
    let changes = |after: ChangeCursor| {
        let store = store.clone();
        let id = id.clone();
        async move { store.item_changes(&id, after, 100).await.unwrap() }
    };
    assert!(
        changes(start).await.is_empty(),
        "submitted items are not changes"
    );

    let c = store.claim(W, 3, LEASE, 1).await.unwrap();
    let first = changes(start).await;
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|ch| ch.item.state == ItemState::Running));
    let after_claim = first[2].cursor;

    store
        .complete(W, vec![succeed(&c[0]), fail(&c[1], false, 2)], 2)
        .await
        .unwrap();
    let second = changes(after_claim).await;
    let states: Vec<_> = second
        .iter()
        .map(|ch| (ch.item.name.clone(), ch.item.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("item-00000".to_string(), ItemState::Succeeded),
            ("item-00001".to_string(), ItemState::Failed)
        ]
    );
    assert_eq!(
        second[1].item.errors.len(),
        1,
        "changes carry the item's errors"
    );

    store.cancel_job(&id, 3).await.unwrap();
    let all = changes(start).await;
    assert_eq!(all.len(), 6, "every item changed once at least");
    assert!(
        all.windows(2).all(|w| w[0].cursor < w[1].cursor),
        "strictly ordered"
    );
    // An item appears once, at its latest change: item 0 was running, then succeeded.
    let names: HashSet<_> = all.iter().map(|ch| ch.item.name.clone()).collect();
    assert_eq!(names.len(), 6);
    assert_eq!(all.last().unwrap().item.state, ItemState::Cancelled);

    // Reading one at a time from any cursor gives exactly the rest: nothing missed or repeated.
    let mut cursor = start;
    let mut paged = Vec::new();
    loop {
        let page = store.item_changes(&id, cursor, 1).await.unwrap();
        let Some(ch) = page.into_iter().next() else {
            break;
        };
        cursor = ch.cursor;
        paged.push(ch);
    }
    assert_eq!(paged, all);
    let text = all[2].cursor.to_string();
    assert_eq!(text.parse::<ChangeCursor>(), Ok(all[2].cursor));
    assert_eq!(changes(all[2].cursor).await, all[3..].to_vec());
    assert!("12".parse::<ChangeCursor>().is_err());
    assert!("-1-2".parse::<ChangeCursor>().is_err());

    // The live view: unfinished jobs, or finished ones that changed after a time.
    let other = store
        .create_job(new_job("u", 1, JobOptions::default()), 10)
        .await
        .unwrap()
        .job
        .id;
    let live = |since| JobQuery {
        user: Some("u".into()),
        limit: 50,
        live_since: Some(since),
        ..JobQuery::default()
    };
    let ids = |page: crate::Page<docket_core::Job>| {
        page.items.into_iter().map(|j| j.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.list_jobs(&live(2), 20).await.unwrap()),
        vec![other.clone(), id.clone()]
    );
    assert_eq!(
        ids(store.list_jobs(&live(5), 20).await.unwrap()),
        vec![other]
    );
}

pub async fn webhooks_are_due_once_finished_and_record_every_attempt(store: Arc<dyn Store>) {
    let options = JobOptions {
        notify_url: Some("http://127.0.0.1:9/hook".into()),
        ..JobOptions::default()
    };
    let id = store
        .create_job(new_job("u", 1, options), 0)
        .await
        .unwrap()
        .job
        .id;
    let quiet = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let j = job(&store, &id).await;
    let hook = j.webhook.expect("a job with notify_url shows its webhook");
    assert_eq!(hook.state, docket_core::WebhookState::Pending);
    assert!(hook.attempts.is_empty());
    assert!(job(&store, &quiet).await.webhook.is_none());
    assert!(
        store.due_webhooks(1, 1_000, 10).await.unwrap().is_empty(),
        "not finished yet"
    );

    store.cancel_job(&id, 5).await.unwrap();
    store.cancel_job(&quiet, 5).await.unwrap();
    let due = store.due_webhooks(10, 1_000, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        vec![id.clone()]
    );
    assert_eq!(due[0].state, JobState::Cancelled);
    assert!(
        store.due_webhooks(20, 1_000, 10).await.unwrap().is_empty(),
        "held by its sender"
    );

    let attempt = |n: u32, status: u16| docket_core::WebhookAttempt {
        attempt: n,
        at: 30,
        status: Some(status),
        error: Some(format!("the receiver answered {status}")),
    };
    store
        .record_webhook(&id, attempt(1, 500), crate::WebhookNext::RetryAt(2_000))
        .await
        .unwrap();
    assert!(store
        .due_webhooks(1_999, 5_000, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.due_webhooks(2_000, 5_000, 10).await.unwrap().len(), 1);
    store
        .record_webhook(&id, attempt(2, 200), crate::WebhookNext::Delivered)
        .await
        .unwrap();
    let hook = job(&store, &id).await.webhook.unwrap();
    assert_eq!(hook.state, docket_core::WebhookState::Delivered);
    assert_eq!(
        hook.attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![Some(500), Some(200)]
    );
    assert!(store
        .due_webhooks(1_000_000, 1_000_001, 10)
        .await
        .unwrap()
        .is_empty());
    // A late record for a delivered webhook changes nothing.
    store
        .record_webhook(&id, attempt(3, 500), crate::WebhookNext::GiveUp)
        .await
        .unwrap();
    assert_eq!(job(&store, &id).await.webhook.unwrap().attempts.len(), 2);
}

pub async fn categories_labels_models_and_processed_documents(store: Arc<dyn Store>) {
    use crate::{CategoryRule, NewDocument};
    let rule = |name: &str, algorithm: &str| CategoryRule {
        name: name.into(),
        algorithm: algorithm.into(),
        pattern: "invoice".into(),
        case_insensitive: true,
    };
    let a = store
        .put_category("u", None, rule("invoices", "any"), 1)
        .await
        .unwrap();
    let b = store
        .put_category("u", None, rule("letters", "auto"), 2)
        .await
        .unwrap();
    store
        .put_category("v", None, rule("invoices", "any"), 2)
        .await
        .unwrap();
    let listed = store.list_categories("u").await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![a.id.clone(), b.id.clone()]
    );
    assert!(matches!(
        store
            .put_category("u", None, rule("invoices", "all"), 3)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .put_category("u", Some(&b.id), rule("invoices", "all"), 3)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let renamed = store
        .put_category("u", Some(&a.id), rule("bills", "all"), 4)
        .await
        .unwrap();
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.algorithm.as_str(),
            renamed.created_at
        ),
        ("bills", "all", 1)
    );
    assert!(
        matches!(
            store
                .put_category("v", Some(&a.id), rule("x", "any"), 5)
                .await,
            Err(StoreError::NotFound)
        ),
        "another user's category is not found"
    );
    assert!(!store.delete_category("v", &a.id).await.unwrap());
    assert!(store.delete_category("u", &a.id).await.unwrap());
    assert_eq!(store.list_categories("u").await.unwrap().len(), 1);

    // Documents: processed-before lookup, hand labels, classification that respects labels.
    let id = store
        .create_job(new_job("u", 2, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, 2, LEASE, 0).await.unwrap();
    let doc = |item: usize, key: &str| NewDocument {
        user: "u".into(),
        job_id: id.clone(),
        item_id: c[item].item_id,
        name: format!("d{item}"),
        sha256: "a".repeat(64),
        media_type: "text/plain".into(),
        size: 1,
        pages: 1,
        text: format!("dear sir letter {item}"),
        category: None,
        confidence: None,
        metadata: json!({}),
        options_key: key.into(),
    };
    let d0 = store.put_document(doc(0, "k1"), 10).await.unwrap();
    let d1 = store.put_document(doc(1, "k2"), 11).await.unwrap();
    assert_eq!(
        store
            .find_processed("u", &"a".repeat(64), "k1")
            .await
            .unwrap()
            .unwrap()
            .id,
        d0
    );
    assert_eq!(
        store
            .find_processed("u", &"a".repeat(64), "k2")
            .await
            .unwrap()
            .unwrap()
            .id,
        d1
    );
    assert!(store
        .find_processed("u", &"a".repeat(64), "k3")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_processed("v", &"a".repeat(64), "k1")
        .await
        .unwrap()
        .is_none());

    let due_before = store.training_due().await.unwrap();
    let version = due_before
        .iter()
        .find(|(u, _)| u == "u")
        .expect("u needs training")
        .1;
    let labelled = store
        .label_document("u", &d0, Some("letters"))
        .await
        .unwrap();
    assert_eq!(
        (labelled.category.as_deref(), labelled.confidence),
        (Some("letters"), Some(1.0))
    );
    assert!(matches!(
        store.label_document("v", &d0, Some("x")).await,
        Err(StoreError::NotFound)
    ));
    let due = store.training_due().await.unwrap();
    let newer = due.iter().find(|(u, _)| u == "u").unwrap().1;
    assert!(newer > version, "a label makes the model stale");
    assert_eq!(
        store.labelled_texts("u", 10).await.unwrap(),
        vec![("dear sir letter 0".to_string(), "letters".to_string())]
    );
    // Classification never overwrites a hand label.
    store
        .classify_document(&d0, Some("bills"), Some(0.5))
        .await
        .unwrap();
    store
        .classify_document(&d1, Some("bills"), Some(0.5))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_document(&d0)
            .await
            .unwrap()
            .unwrap()
            .category
            .as_deref(),
        Some("letters")
    );
    let d1_doc = store.get_document(&d1).await.unwrap().unwrap();
    assert_eq!(
        (d1_doc.category.as_deref(), d1_doc.confidence),
        (Some("bills"), Some(0.5))
    );

    assert!(store.load_model("u").await.unwrap().is_none());
    store
        .save_model("u", newer, Some("{\"m\":1}".into()), 20)
        .await
        .unwrap();
    store
        .save_model("u", version, Some("old".into()), 21)
        .await
        .unwrap();
    let model = store.load_model("u").await.unwrap().unwrap();
    assert_eq!(
        (model.labels_version, model.model.as_deref()),
        (newer, Some("{\"m\":1}"))
    );
    assert!(store
        .training_due()
        .await
        .unwrap()
        .iter()
        .all(|(u, _)| u != "u"));

    let ids = store.document_ids("u", None, 1).await.unwrap();
    assert_eq!(ids.len(), 1);
    let rest = store.document_ids("u", Some(&ids[0]), 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert!(store.document_ids("v", None, 10).await.unwrap().is_empty());
}
