//! Conformance: the schema itself refuses illegal state transitions.

use super::*;

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

/// Every item belongs to a job that exists, and its rows (results included) go with the job.
pub async fn items_belong_to_their_job_and_go_with_it(store: Arc<dyn Store>) {
    assert!(
        !store.probe_item_without_its_job().await.unwrap(),
        "an item without its job, or moved to another one, is refused"
    );
    let id = store
        .create_job(new_job("u", 3, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let claimed = store.claim(W, JobKind::ALL, 3, LEASE, 1).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let done = claimed.iter().map(succeed).collect();
    store.complete(W, done, 2).await.unwrap();
    assert_eq!(store.probe_rows_of_job(&id).await.unwrap(), 6);
    store.mark_deleted(&id, 3).await.unwrap();
    store.remove_deleted(&id).await.unwrap();
    assert_eq!(store.probe_rows_of_job(&id).await.unwrap(), 0);
}
