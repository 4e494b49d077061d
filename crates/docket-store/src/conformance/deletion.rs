//! Conformance: typed payloads and sources, and durable deletion.

use docket_core::{ItemPayload, JobSource};

use super::*;

pub async fn payloads_and_sources_come_back_typed(store: Arc<dyn Store>) {
    let upload = ItemPayload::Upload {
        blob: docket_core::blob_keys::upload("j", 0),
        size: 3,
        sha256: "abc".into(),
    };
    let new = NewJob {
        items: vec![NewItem {
            name: "a".into(),
            payload: upload.clone(),
        }],
        ..new_job("u", 0, JobOptions::default())
    };
    store.create_job(new, 0).await.unwrap();
    let claimed = store.claim(W, JobKind::ALL, 1, LEASE, 0).await.unwrap();
    assert_eq!(claimed[0].payload, upload);
    let docs = NewJob {
        kind: JobKind::Reindex,
        source: Some(JobSource::Documents {
            documents_of: "u".into(),
        }),
        ..new_job("u", 0, JobOptions::default())
    };
    store.create_job(docs, 0).await.unwrap();
    let listing = store
        .claim_listing(W, JobKind::ALL, LEASE, 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        listing.source,
        JobSource::Documents {
            documents_of: "u".into()
        }
    );
}

/// A finished job of `n` items (cancelled before any ran).
async fn finished_job(store: &Arc<dyn Store>, user: &str, key: Option<&str>) -> String {
    let new = NewJob {
        idempotency_key: key.map(str::to_owned),
        ..new_job(user, 2, JobOptions::default())
    };
    let id = store.create_job(new, 0).await.unwrap().job.id;
    store.cancel_job(&id, 10).await.unwrap();
    id
}

pub async fn a_deleted_job_vanishes_at_once_and_is_removed_by_a_pass(store: Arc<dyn Store>) {
    let running = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    assert!(
        matches!(
            store.mark_deleted(&running, 20).await,
            Err(StoreError::Rule(_))
        ),
        "an unfinished job cannot be deleted"
    );
    let id = finished_job(&store, "u", Some("k1")).await;
    store.mark_deleted(&id, 20).await.unwrap();
    assert!(store.get_job(&id, 20).await.unwrap().is_none());
    let listed = store
        .list_jobs(
            &JobQuery {
                user: Some("u".into()),
                limit: 10,
                ..JobQuery::default()
            },
            20,
        )
        .await
        .unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|j| j.id.as_str())
            .collect::<Vec<_>>(),
        vec![running.as_str()]
    );
    assert!(
        store
            .job_by_idempotency_key("u", "k1", 20)
            .await
            .unwrap()
            .is_none(),
        "the key of a deleted job is free again"
    );
    let again = finished_job(&store, "u", Some("k1")).await;
    assert_ne!(again, id);
    assert!(matches!(
        store.mark_deleted(&id, 21).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.deletion_state(&id).await.unwrap(), Some((0, None)));
    let taken = store.take_deletions(30, 30 + LEASE, 10).await.unwrap();
    assert_eq!(taken, vec![id.clone()]);
    store.remove_deleted(&id).await.unwrap();
    assert_eq!(store.deletion_state(&id).await.unwrap(), None);
    assert!(store
        .take_deletions(LEASE * 2, LEASE * 3, 10)
        .await
        .unwrap()
        .is_empty());
    store.remove_deleted(&id).await.unwrap();
    assert!(store.get_job(&again, 40).await.unwrap().is_some());
}

pub async fn deletions_are_leased_and_failures_retried_later(store: Arc<dyn Store>) {
    let id = finished_job(&store, "u", None).await;
    store.mark_deleted(&id, 100).await.unwrap();
    assert!(
        store
            .take_deletions(99, 99 + LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due before it was marked"
    );
    assert_eq!(
        store.take_deletions(100, 1_000, 10).await.unwrap(),
        vec![id.clone()]
    );
    assert!(
        store
            .take_deletions(500, 1_500, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased to the first pass"
    );
    assert_eq!(
        store.take_deletions(1_000, 2_000, 10).await.unwrap(),
        vec![id.clone()],
        "a pass that died gives the job back when its lease ends"
    );
    store
        .deletion_failed(&id, "blob store down", 5_000)
        .await
        .unwrap();
    assert_eq!(
        store.deletion_state(&id).await.unwrap(),
        Some((1, Some("blob store down".into())))
    );
    assert!(store
        .take_deletions(4_999, 6_000, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.take_deletions(5_000, 6_000, 10).await.unwrap(),
        vec![id.clone()]
    );
    assert!(store.get_job(&id, 5_000).await.unwrap().is_none());
}

pub async fn retention_marks_only_jobs_finished_before_the_cutoff(store: Arc<dyn Store>) {
    let old = finished_job(&store, "u", None).await;
    let unfinished = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    assert_eq!(
        store.mark_expired(10, 50).await.unwrap(),
        0,
        "finished at 10, not before"
    );
    assert_eq!(store.mark_expired(11, 50).await.unwrap(), 1);
    assert_eq!(store.mark_expired(11, 60).await.unwrap(), 0, "marked once");
    assert!(store.get_job(&old, 60).await.unwrap().is_none());
    assert!(store.get_job(&unfinished, 60).await.unwrap().is_some());
    assert_eq!(
        store.take_deletions(60, 60 + LEASE, 10).await.unwrap(),
        vec![old]
    );
}
