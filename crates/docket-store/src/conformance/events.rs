//! Conformance: item changes, in commit order, resumable from a cursor.

use super::*;
use std::collections::HashSet;

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

    let c = store.claim(W, JobKind::ALL, 3, LEASE, 1).await.unwrap();
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
