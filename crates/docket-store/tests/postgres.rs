//! The conformance suite on PostgreSQL: a fresh database per test.
//!
//! The server comes from `DOCKET_TEST_POSTGRES_URL` (an account allowed to create databases),
//! by default `postgres://postgres@127.0.0.1:5432/postgres`. An unreachable server fails the
//! tests: they are never skipped. Each test creates `docket_t_<unix seconds>_<uuid>`; databases
//! of this shape older than an hour are dropped when a test starts, so runs clean up after
//! the ones before them.

use std::sync::Arc;

use docket_core::{AttemptError, ItemTarget, JobKind, JobOptions, JobState, Stage};
use docket_store::prelude::*;
use docket_store::testing::with_database;
use docket_store::{Completion, NewItem, NewJob, ProgressUpdate};

async fn open() -> Arc<dyn Store> {
    docket_store::testing::fresh_postgres().await
}

docket_store::conformance_suite!(open);

#[test]
fn database_urls_are_rewritten() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    assert_eq!(
        with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
        "postgresql://u:p@h/x?sslmode=disable"
    );
}

/// Many workers of one database at once: every item is applied exactly once, heartbeats race
/// completions of the same worker, a dead worker's items are rescued while others claim, and
/// nothing deadlocks (a deadlock would surface as an error and fail the test).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_apply_each_item_once() {
    let store = open().await;
    let options = JobOptions {
        max_retries: 5,
        auto_pause_after: 0,
        ..JobOptions::default()
    };
    let mut jobs = Vec::new();
    for n in [1_500usize, 300, 40] {
        let items = (0..n)
            .map(|i| NewItem {
                name: format!("item-{i}"),
                payload: docket_core::ItemPayload::Noop {
                    sleep_ms: Some(i as u64),
                },
            })
            .collect();
        let job = NewJob {
            id: None,
            user: "u".into(),
            kind: JobKind::Noop,
            options: options.clone(),
            idempotency_key: None,
            source: None,
            items,
        };
        jobs.push(store.create_job(job, 0).await.unwrap().job);
    }
    // A worker that dies holding 60 items under a short lease.
    let dead = store.claim("dead", JobKind::ALL, 60, 5, 0).await.unwrap();
    assert_eq!(dead.len(), 60);

    let rescuer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut rescued = 0;
            while rescued < 60 {
                rescued += store.rescue_expired(10).await.unwrap();
                tokio::task::yield_now().await;
            }
            rescued
        })
    };
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let worker = format!("w{w}");
                let mut applied = 0;
                let mut empty = 0;
                let mut round = 0u64;
                while empty < 20 {
                    let claimed = store
                        .claim(&worker, JobKind::ALL, 37, 1_000_000, 20)
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        empty += 1;
                        tokio::task::yield_now().await;
                        continue;
                    }
                    empty = 0;
                    round += 1;
                    let progress: Vec<ProgressUpdate> = claimed
                        .iter()
                        .map(|c| ProgressUpdate {
                            item_id: c.item_id,
                            stage: Stage::Extracting,
                            progress: 50.0,
                            started: true,
                        })
                        .collect();
                    let done: Vec<Completion> = claimed
                        .iter()
                        .map(|c| Completion {
                            item_id: c.item_id,
                            job_id: c.job_id.clone(),
                            attempt: c.attempts,
                            // Every third item of every other batch fails transiently once.
                            target: if round.is_multiple_of(2)
                                && c.item_id % 3 == 0
                                && c.attempts == 1
                            {
                                ItemTarget::Retrying {
                                    next_attempt_at: 0,
                                    error: AttemptError {
                                        attempt: c.attempts,
                                        at: 20,
                                        message: "flaky".into(),
                                        transient: true,
                                    },
                                }
                            } else {
                                ItemTarget::Succeeded {
                                    output: serde_json::json!({"by": worker}),
                                }
                            },
                        })
                        .collect();
                    // The heartbeat races the completion of the same items.
                    let (held, report) = tokio::join!(
                        store.heartbeat(&worker, &progress, 2_000_000, 20),
                        store.complete(&worker, done, 20)
                    );
                    held.unwrap();
                    let report = report.unwrap();
                    assert_eq!(report.lost, 0);
                    applied += report.applied;
                }
                applied
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(rescuer.await.unwrap(), 60);
    for job in jobs {
        let j = store.get_job(&job.id, 0).await.unwrap().unwrap();
        assert_eq!(j.state, JobState::Completed, "{:?}", j.counts);
        assert_eq!(j.counts.succeeded, j.counts.total);
        let results = store.results(&job.id, 0, 10_000).await.unwrap();
        assert_eq!(results.len() as i64, j.counts.total);
    }
}

/// Submits with the same idempotency key racing each other create one job.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicate_submits_create_one_job() {
    let store = open().await;
    let job = NewJob {
        id: None,
        user: "u".into(),
        kind: JobKind::Noop,
        options: JobOptions::default(),
        idempotency_key: Some("same".into()),
        source: None,
        items: (0..2_000)
            .map(|i| NewItem {
                name: format!("item-{i}"),
                payload: docket_core::ItemPayload::Noop { sleep_ms: None },
            })
            .collect(),
    };
    let submits: Vec<_> = (0..8)
        .map(|_| {
            let (store, job) = (store.clone(), job.clone());
            tokio::spawn(async move { store.create_job(job, 0).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for s in submits {
        let c = s.await.unwrap();
        created += usize::from(c.created);
        ids.insert(c.job.id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
}

fn document(id: &str) -> docket_core::ItemPayload {
    docket_core::ItemPayload::Document {
        document_id: id.into(),
    }
}

/// PostgreSQL text cannot hold U+0000: a submit with one is refused cleanly, and one in what a
/// worker reports is replaced instead of failing the batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters() {
    let store = open().await;
    let job = |name: &str, payload: docket_core::ItemPayload| NewJob {
        id: None,
        user: "u".into(),
        kind: JobKind::Noop,
        options: JobOptions {
            max_retries: 3,
            ..JobOptions::default()
        },
        idempotency_key: None,
        source: None,
        items: vec![NewItem {
            name: name.into(),
            payload,
        }],
    };
    for bad in [
        job("a\0b", docket_core::ItemPayload::Noop { sleep_ms: None }),
        job("a", document("x\u{0}")),
    ] {
        assert!(matches!(
            store.create_job(bad, 0).await,
            Err(docket_store::StoreError::Invalid(_))
        ));
    }
    let mut two = job("a", document("\\u0000 is not a NUL"));
    two.items.push(NewItem {
        name: "b".into(),
        payload: docket_core::ItemPayload::Noop { sleep_ms: Some(1) },
    });
    let id = store.create_job(two, 0).await.unwrap().job.id;
    let c = store.claim("w", JobKind::ALL, 2, 1_000, 0).await.unwrap();
    assert_eq!(c[0].payload, document("\\u0000 is not a NUL"));
    let report = store
        .complete(
            "w",
            vec![
                Completion {
                    item_id: c[0].item_id,
                    job_id: id.clone(),
                    attempt: c[0].attempts,
                    target: ItemTarget::Succeeded {
                        output: serde_json::json!({"text": "a\u{0}b"}),
                    },
                },
                Completion {
                    item_id: c[1].item_id,
                    job_id: id.clone(),
                    attempt: c[1].attempts,
                    target: ItemTarget::Retrying {
                        next_attempt_at: 0,
                        error: AttemptError {
                            attempt: 1,
                            at: 0,
                            message: "bad \u{0} byte".into(),
                            transient: true,
                        },
                    },
                },
            ],
            1,
        )
        .await
        .unwrap();
    assert_eq!(report.applied, 2);
    let results = store.results(&id, 0, 10).await.unwrap();
    assert_eq!(results[0].output, serde_json::json!({"text": "a\u{fffd}b"}));
}

fn sourced_job(user: &str) -> NewJob {
    NewJob {
        id: None,
        user: user.into(),
        kind: JobKind::Process,
        options: JobOptions::default(),
        idempotency_key: None,
        items: Vec::new(),
        source: Some(docket_core::JobSource::Folder {
            path: "/srv/scans".into(),
        }),
    }
}

fn listed(from: usize, n: usize) -> Vec<NewItem> {
    (from..from + n)
        .map(|i| NewItem {
            name: format!("f-{i:05}"),
            payload: docket_core::ItemPayload::Noop {
                sleep_ms: Some(i as u64),
            },
        })
        .collect()
}

/// Whether an error is PostgreSQL reporting a deadlock.
fn is_deadlock(e: &docket_store::StoreError) -> bool {
    match e {
        docket_store::StoreError::Database(sqlx::Error::Database(db)) => {
            db.code().as_deref() == Some("40P01")
        }
        _ => false,
    }
}

/// Listers racing for listings each take a different job, and together take them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_listers_take_each_listing_once() {
    let store = open().await;
    let mut ids = std::collections::HashSet::new();
    for _ in 0..40 {
        ids.insert(store.create_job(sourced_job("u"), 0).await.unwrap().job.id);
    }
    let listers: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut taken = Vec::new();
                while let Some(l) = store
                    .claim_listing(&format!("lister-{w}"), JobKind::ALL, 1_000_000, 10)
                    .await
                    .unwrap()
                {
                    taken.push(l.job_id);
                    tokio::task::yield_now().await;
                }
                taken
            })
        })
        .collect();
    let mut all = Vec::new();
    for l in listers {
        all.extend(l.await.unwrap());
    }
    let unique: std::collections::HashSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), unique.len(), "a listing was taken twice");
    assert_eq!(unique, ids);
}

/// A lister adds items while workers claim and complete them: the job's total follows the
/// listing, it does not complete before the seal, and completes right after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_while_workers_drain_the_job() {
    let store = open().await;
    let id = store.create_job(sourced_job("u"), 0).await.unwrap().job.id;
    let listing = store
        .claim_listing("lister", JobKind::ALL, 1_000, 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listing.job_id, id);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (store, done) = (store.clone(), done.clone());
            tokio::spawn(async move {
                let worker = format!("w{w}");
                let mut applied = 0;
                loop {
                    let sealed = done.load(std::sync::atomic::Ordering::SeqCst);
                    let claimed = store
                        .claim(&worker, JobKind::ALL, 7, 1_000_000, 20)
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        if sealed {
                            break;
                        }
                        tokio::task::yield_now().await;
                        continue;
                    }
                    assert!(claimed.iter().all(|c| c.user == "u"));
                    let report = store
                        .complete(
                            &worker,
                            claimed
                                .iter()
                                .map(|c| Completion {
                                    item_id: c.item_id,
                                    job_id: c.job_id.clone(),
                                    attempt: c.attempts,
                                    target: ItemTarget::Succeeded {
                                        output: serde_json::json!(c.name),
                                    },
                                })
                                .collect(),
                            20,
                        )
                        .await
                        .unwrap();
                    assert_eq!(report.lost, 0);
                    applied += report.applied;
                }
                applied
            })
        })
        .collect();
    for batch in 0..20 {
        store
            .add_items(
                &id,
                "lister",
                listed(batch * 25, 25),
                1_000 + batch as i64,
                10,
            )
            .await
            .unwrap();
        let j = store.get_job(&id, 10).await.unwrap().unwrap();
        assert_ne!(j.state, JobState::Completed, "completed before the seal");
        tokio::task::yield_now().await;
    }
    let sealed = store.seal_job(&id, "lister", 30).await.unwrap();
    assert_eq!(sealed.counts.total, 500);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut applied = 0;
    for w in workers {
        applied += w.await.unwrap();
    }
    assert_eq!(applied, 500);
    let j = store.get_job(&id, 40).await.unwrap().unwrap();
    assert_eq!(j.state, JobState::Completed, "{:?}", j.counts);
    assert_eq!(j.counts.succeeded, 500);
    assert!(store
        .claim_listing("other", JobKind::ALL, 1_000, 1_000_000)
        .await
        .unwrap()
        .is_none());
}

/// A cancel while the listing goes on: the lister's next batch is refused, and the counts
/// stay consistent whichever came first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_during_a_listing_stops_it() {
    let store = open().await;
    let id = store.create_job(sourced_job("u"), 0).await.unwrap().job.id;
    store
        .claim_listing("lister", JobKind::ALL, 1_000_000, 0)
        .await
        .unwrap()
        .unwrap();
    let lister = {
        let (store, id) = (store.clone(), id.clone());
        tokio::spawn(async move {
            let mut added = 0;
            loop {
                match store
                    .add_items(&id, "lister", listed(added, 10), 1_000_000, 1)
                    .await
                {
                    Ok(()) => added += 10,
                    Err(docket_store::StoreError::Invalid(_)) => return added,
                    Err(e) => panic!("unexpected error: {e}"),
                }
                tokio::task::yield_now().await;
            }
        })
    };
    while store.get_job(&id, 1).await.unwrap().unwrap().counts.total < 50 {
        tokio::task::yield_now().await;
    }
    let cancelled = store.cancel_job(&id, 2).await.unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    let added = lister.await.unwrap() as i64;
    let j = store.get_job(&id, 3).await.unwrap().unwrap();
    assert_eq!(j.counts.total, added);
    assert_eq!(j.counts.cancelled, added);
    assert!(matches!(
        store.seal_job(&id, "lister", 4).await,
        Err(docket_store::StoreError::Invalid(_))
    ));
}

/// A job may be created under an id chosen beforehand; the id cannot be used twice. A job
/// with neither items nor a source is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_ids_and_sources() {
    let store = open().await;
    let mut job = sourced_job("u");
    job.id = Some("job_0000000000000000000000000000abcd".into());
    let created = store.create_job(job.clone(), 0).await.unwrap();
    assert_eq!(created.job.id, "job_0000000000000000000000000000abcd");
    assert!(store.create_job(job, 1).await.is_err(), "the id is taken");
    let mut empty = sourced_job("u");
    empty.source = None;
    assert!(matches!(
        store.create_job(empty, 2).await,
        Err(docket_store::StoreError::Invalid(_))
    ));
    let mut nul = sourced_job("u");
    nul.source = Some(docket_core::JobSource::Folder {
        path: "/a\u{0}b".into(),
    });
    assert!(matches!(
        store.create_job(nul, 3).await,
        Err(docket_store::StoreError::Invalid(_))
    ));
    let mut keyed = sourced_job("u");
    keyed.idempotency_key = Some("k".into());
    let first = store.create_job(keyed, 4).await.unwrap().job.id;
    let found = store.job_by_idempotency_key("u", "k", 5).await.unwrap();
    assert_eq!(found.map(|j| j.id), Some(first));
    assert!(store
        .job_by_idempotency_key("v", "k", 5)
        .await
        .unwrap()
        .is_none());
}

/// Documents written while their job is deleted: each write either lands or finds its item
/// gone, and nothing deadlocks. Documents may hold NUL characters, replaced on the way in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn documents_race_job_deletion() {
    let store = open().await;
    for round in 0..10 {
        let items: Vec<NewItem> = listed(0, 20);
        let mut new = sourced_job("u");
        new.source = None;
        new.items = items;
        let id = store.create_job(new, 0).await.unwrap().job.id;
        let claimed = store
            .claim("w", JobKind::ALL, 20, 1_000_000, 0)
            .await
            .unwrap();
        let doc = |item_id: i64, text: &str| docket_store::NewDocument {
            user: "u".into(),
            job_id: id.clone(),
            item_id,
            name: "scan.txt".into(),
            sha256: "0".repeat(64),
            media_type: "text/plain".into(),
            size: 3,
            pages: 1,
            text: text.into(),
            category: Some("letter".into()),
            confidence: Some(0.5),
            metadata: serde_json::json!({"k": "v\u{0}"}),
            options_key: String::new(),
        };
        let mut first = Vec::new();
        for c in &claimed {
            first.push(
                store
                    .put_document(doc(c.item_id, "a\u{0}b"), 1)
                    .await
                    .unwrap(),
            );
        }
        if round == 0 {
            let d = store.get_document(&first[0]).await.unwrap().unwrap();
            assert_eq!(d.text, "a\u{fffd}b");
            assert_eq!(d.metadata, serde_json::json!({"k": "v\u{fffd}"}));
            assert_eq!(d.confidence, Some(0.5));
            assert_eq!(d.category.as_deref(), Some("letter"));
            assert_eq!(d.job_id.as_deref(), Some(id.as_str()));
        }
        store
            .complete(
                "w",
                claimed
                    .iter()
                    .map(|c| Completion {
                        item_id: c.item_id,
                        job_id: c.job_id.clone(),
                        attempt: c.attempts,
                        target: ItemTarget::Succeeded {
                            output: serde_json::json!(null),
                        },
                    })
                    .collect(),
                2,
            )
            .await
            .unwrap();
        let rewrites: Vec<_> = claimed
            .iter()
            .map(|c| {
                let (store, d) = (store.clone(), doc(c.item_id, "again"));
                tokio::spawn(async move { store.put_document(d, 3).await })
            })
            .collect();
        let deleted = store.delete_job(&id).await;
        assert!(deleted.is_ok(), "{deleted:?}");
        for (r, first) in rewrites.into_iter().zip(&first) {
            match r.await.unwrap() {
                Ok(doc_id) => assert_eq!(&doc_id, first),
                Err(e) => assert!(!is_deadlock(&e), "deadlock: {e}"),
            }
        }
        for doc_id in &first {
            assert!(
                store.get_document(doc_id).await.unwrap().is_some(),
                "documents outlive their job"
            );
        }
    }
}
