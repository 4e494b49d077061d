//! Conformance: categories, labels, models and reuse of processed documents.

use super::*;

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
    let c = store.claim(W, JobKind::ALL, 2, LEASE, 0).await.unwrap();
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
