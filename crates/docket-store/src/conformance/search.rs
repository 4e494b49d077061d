//! Conformance: full-text search.

use super::*;

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
    let c = store.claim(W, JobKind::ALL, 10, LEASE, 0).await.unwrap();
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
