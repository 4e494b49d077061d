//! Conformance: documents written per item.

use super::*;

pub async fn documents_are_written_once_per_item(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let c = store.claim(W, JobKind::ALL, 1, LEASE, 0).await.unwrap();
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
