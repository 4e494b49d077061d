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
