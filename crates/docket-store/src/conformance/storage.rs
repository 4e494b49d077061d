//! Conformance: each user's storage counter follows their jobs' uploads.

use docket_core::ItemPayload;

use super::*;

/// A job of `user` whose items are uploads of these sizes.
fn upload_job(user: &str, sizes: &[u64]) -> NewJob {
    NewJob {
        kind: JobKind::Process,
        items: sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| NewItem {
                name: format!("f{i}"),
                payload: ItemPayload::Upload {
                    blob: docket_core::blob_keys::upload("j", i),
                    size,
                    sha256: "ab".into(),
                },
            })
            .collect(),
        ..new_job(user, 0, JobOptions::default())
    }
}

pub async fn storage_used_follows_uploads_and_deletions(store: Arc<dyn Store>) {
    assert_eq!(store.storage_used("u").await.unwrap(), 0, "nothing yet");
    let first = store
        .create_job(upload_job("u", &[100, 23]), 0)
        .await
        .unwrap()
        .job
        .id;
    let second = store
        .create_job(upload_job("u", &[1 << 40]), 0)
        .await
        .unwrap()
        .job
        .id;
    store.create_job(upload_job("v", &[7]), 0).await.unwrap();
    // Jobs without uploads count nothing.
    store
        .create_job(new_job("u", 3, JobOptions::default()), 0)
        .await
        .unwrap();
    assert_eq!(store.storage_used("u").await.unwrap(), 123 + (1 << 40));
    assert_eq!(store.storage_used("v").await.unwrap(), 7);

    // A replayed submit (same idempotency key) stores nothing new.
    let keyed = NewJob {
        idempotency_key: Some("k".into()),
        ..upload_job("v", &[5])
    };
    store.create_job(keyed.clone(), 0).await.unwrap();
    assert!(!store.create_job(keyed, 0).await.unwrap().created);
    assert_eq!(store.storage_used("v").await.unwrap(), 12);

    // Marked deleted, the files are still there; removed, they are not.
    for id in [&first, &second] {
        store.cancel_job(id, 10).await.unwrap();
        store.mark_deleted(id, 20).await.unwrap();
    }
    assert_eq!(store.storage_used("u").await.unwrap(), 123 + (1 << 40));
    store.remove_deleted(&second).await.unwrap();
    assert_eq!(store.storage_used("u").await.unwrap(), 123);
    store.remove_deleted(&first).await.unwrap();
    assert_eq!(store.storage_used("u").await.unwrap(), 0);
    assert_eq!(store.storage_used("v").await.unwrap(), 12);
}
