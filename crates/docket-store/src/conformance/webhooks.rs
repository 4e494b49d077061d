//! Conformance: webhook delivery bookkeeping.

use super::*;

pub async fn webhooks_are_due_once_finished_and_record_every_attempt(store: Arc<dyn Store>) {
    let options = JobOptions {
        notify_url: Some("http://127.0.0.1:9/hook".into()),
        ..JobOptions::default()
    };
    let id = store
        .create_job(new_job("u", 1, options), 0)
        .await
        .unwrap()
        .job
        .id;
    let quiet = store
        .create_job(new_job("u", 1, JobOptions::default()), 0)
        .await
        .unwrap()
        .job
        .id;
    let j = job(&store, &id).await;
    let hook = j.webhook.expect("a job with notify_url shows its webhook");
    assert_eq!(hook.state, docket_core::WebhookState::Pending);
    assert!(hook.attempts.is_empty());
    assert!(job(&store, &quiet).await.webhook.is_none());
    assert!(
        store.due_webhooks(1, 1_000, 10).await.unwrap().is_empty(),
        "not finished yet"
    );

    store.cancel_job(&id, 5).await.unwrap();
    store.cancel_job(&quiet, 5).await.unwrap();
    let due = store.due_webhooks(10, 1_000, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        vec![id.clone()]
    );
    assert_eq!(due[0].state, JobState::Cancelled);
    assert!(
        store.due_webhooks(20, 1_000, 10).await.unwrap().is_empty(),
        "held by its sender"
    );

    let attempt = |n: u32, status: u16| docket_core::WebhookAttempt {
        attempt: n,
        at: 30,
        status: Some(status),
        error: Some(format!("the receiver answered {status}")),
    };
    store
        .record_webhook(&id, attempt(1, 500), crate::WebhookNext::RetryAt(2_000))
        .await
        .unwrap();
    assert!(store
        .due_webhooks(1_999, 5_000, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.due_webhooks(2_000, 5_000, 10).await.unwrap().len(), 1);
    store
        .record_webhook(&id, attempt(2, 200), crate::WebhookNext::Delivered)
        .await
        .unwrap();
    let hook = job(&store, &id).await.webhook.unwrap();
    assert_eq!(hook.state, docket_core::WebhookState::Delivered);
    assert_eq!(
        hook.attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![Some(500), Some(200)]
    );
    assert!(store
        .due_webhooks(1_000_000, 1_000_001, 10)
        .await
        .unwrap()
        .is_empty());
    // A late record for a delivered webhook changes nothing.
    store
        .record_webhook(&id, attempt(3, 500), crate::WebhookNext::GiveUp)
        .await
        .unwrap();
    assert_eq!(job(&store, &id).await.webhook.unwrap().attempts.len(), 2);
}
