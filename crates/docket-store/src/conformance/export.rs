//! Conformance: export rows, the finished items of a job with their documents.

use super::*;

pub async fn export_rows_list_finished_items_with_their_documents(store: Arc<dyn Store>) {
    let id = store
        .create_job(new_job("u", 4, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let mut c = store.claim(W, JobKind::ALL, 3, LEASE, 0).await.unwrap();
    c.sort_by_key(|c| c.item_id);
    assert_eq!(c.len(), 3);
    let document_id = store
        .put_document(
            crate::NewDocument {
                user: "u".into(),
                job_id: id.clone(),
                item_id: c[0].item_id,
                name: "scan,\"one\".txt".into(),
                sha256: "a".repeat(64),
                media_type: "text/plain".into(),
                size: 11,
                pages: 1,
                text: "hello world".into(),
                category: Some("letters".into()),
                confidence: Some(0.75),
                metadata: json!({"encoding": "utf-8"}),
                options_key: String::new(),
            },
            1,
        )
        .await
        .unwrap();
    let done = Completion {
        target: ItemTarget::Succeeded {
            output: json!({"document_id": document_id, "matched_by": "rule:letters",
                           "reused_from": "doc_earlier"}),
        },
        ..succeed(&c[0])
    };
    store
        .complete(W, vec![done, fail(&c[1], false, 2)], 2)
        .await
        .unwrap();

    // Unfinished items (one running, one pending) are not listed.
    let rows = store.export_rows(&id, 0, 100, true).await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let ok = &rows[0];
    assert_eq!(ok.item_id, c[0].item_id);
    assert_eq!(ok.name, c[0].name);
    assert_eq!(ok.state, ItemState::Succeeded);
    assert_eq!(ok.error, None);
    assert_eq!(ok.matched_by.as_deref(), Some("rule:letters"));
    assert!(ok.reused);
    let d = ok
        .document
        .as_ref()
        .expect("a succeeded item carries its document");
    assert_eq!(d.id, document_id);
    assert_eq!(d.sha256, "a".repeat(64));
    assert_eq!(d.media_type, "text/plain");
    assert_eq!((d.size, d.pages), (11, 1));
    assert_eq!(d.category.as_deref(), Some("letters"));
    assert_eq!(d.confidence, Some(0.75));
    assert_eq!(d.metadata, json!({"encoding": "utf-8"}));
    assert_eq!(d.text.as_deref(), Some("hello world"));
    let failed = &rows[1];
    assert_eq!(failed.state, ItemState::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some(format!("boom {}", c[1].name).as_str())
    );
    assert!(failed.document.is_none());
    assert!(!failed.reused);
    assert_eq!(failed.matched_by, None);

    // Without text, the document comes without it.
    let rows = store.export_rows(&id, 0, 100, false).await.unwrap();
    let d = rows[0].document.as_ref().expect("document");
    assert_eq!(d.text, None);

    // A succeeded item without a document (noop) and, once cancelled, the rest.
    store.complete(W, vec![succeed(&c[2])], 3).await.unwrap();
    store.cancel_job(&id, 4).await.unwrap();
    let rows = store.export_rows(&id, 0, 100, false).await.unwrap();
    let states: Vec<ItemState> = rows.iter().map(|r| r.state).collect();
    assert_eq!(
        states,
        [
            ItemState::Succeeded,
            ItemState::Failed,
            ItemState::Succeeded,
            ItemState::Cancelled
        ]
    );
    assert!(rows[2].document.is_none());
    assert_eq!(rows[2].output, Some(json!({"item": c[2].name})));
    assert!(!rows[2].reused);
    assert_eq!(rows[3].error, None);

    // Page by page, by item id cursor, in item order.
    let mut after = 0;
    let mut paged = Vec::new();
    loop {
        let page = store.export_rows(&id, after, 1, false).await.unwrap();
        let Some(last) = page.last() else { break };
        assert_eq!(page.len(), 1);
        after = last.item_id;
        paged.extend(page);
    }
    assert_eq!(paged, rows);

    // Another job's rows and an unknown job list nothing.
    let other = store
        .create_job(new_job("u", 1, JobOptions::default()), 5)
        .await
        .unwrap()
        .job
        .id;
    assert!(store
        .export_rows(&other, 0, 100, true)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .export_rows("job_missing", 0, 100, true)
        .await
        .unwrap()
        .is_empty());
}
