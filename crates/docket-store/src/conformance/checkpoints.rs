//! Conformance cases for durable checkpoints: what a worker saves while it holds an item is
//! what the next attempt gets back, and a worker that lost the item can no longer write.

use std::sync::Arc;

use docket_core::{decide, JobOptions, Outcome, RetryPolicy, Stage};
use serde_json::json;

use super::{job, new_job, succeed};
use crate::prelude::*;
use crate::Completion;

pub async fn checkpoints_are_saved_only_by_the_holder_and_survive_a_takeover(
    store: Arc<dyn Store>,
) {
    let id = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let first = store
        .claim("dead", docket_core::JobKind::ALL, 1, 1_000, 0)
        .await
        .unwrap();
    let item = first[0].item_id;
    assert_eq!(first[0].checkpoint, None);
    assert!(store
        .save_checkpoint("dead", item, Stage::Extracting, json!({"pages": 3}))
        .await
        .unwrap());
    assert!(
        !store
            .save_checkpoint("other", item, Stage::Extracting, json!({"pages": 99}))
            .await
            .unwrap(),
        "a worker that never held the item cannot save its checkpoint"
    );

    // The holder dies; its successor starts from what it saved.
    assert_eq!(store.rescue_expired(1_001).await.unwrap(), 1);
    let second = store
        .claim("alive", docket_core::JobKind::ALL, 1, 60_000, 1_002)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].checkpoint, Some(json!({"pages": 3})));
    assert!(store
        .save_checkpoint("alive", item, Stage::Extracting, json!({"pages": 5}))
        .await
        .unwrap());
    // The lost worker wakes up and tries to write: refused, the successor's stays.
    assert!(!store
        .save_checkpoint("dead", item, Stage::Extracting, json!({"pages": 4}))
        .await
        .unwrap());

    // Interrupted without a newer checkpoint of its own: the saved one is kept.
    let interrupted = Completion {
        item_id: item,
        job_id: id.clone(),
        attempt: second[0].attempts,
        target: decide(
            Outcome::Interrupted {
                stage: Stage::Extracting,
                progress: 40.0,
                checkpoint: None,
            },
            second[0].attempts,
            second[0].max_retries,
            &RetryPolicy::default(),
            1_003,
        ),
    };
    store
        .complete("alive", vec![interrupted], 1_003)
        .await
        .unwrap();
    let third = store
        .claim("alive", docket_core::JobKind::ALL, 1, 60_000, 1_004)
        .await
        .unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].stage, Stage::Extracting);
    assert_eq!(third[0].checkpoint, Some(json!({"pages": 5})));

    // Once the item is finished nobody can write a checkpoint for it any more.
    store
        .complete("alive", vec![succeed(&third[0])], 1_005)
        .await
        .unwrap();
    assert!(!store
        .save_checkpoint("alive", item, Stage::Indexing, json!({"late": true}))
        .await
        .unwrap());
    assert_eq!(job(&store, &id).await.counts.succeeded, 1);
}
