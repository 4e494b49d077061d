//! Conformance: listing jobs and items: pagination and filters.

use super::*;

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
