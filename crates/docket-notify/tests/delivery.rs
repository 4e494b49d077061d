//! Webhook delivery against a real HTTP receiver on a real port, with real databases.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use docket_core::{RetryPolicy, WebhookState};
use docket_notify::{verify, verify_at, AddressPolicy, Notifier, NotifyConfig, WebhookPolicy};
use docket_store::prelude::*;
use support::{deliver_until_settled, finished_job, start, Receiver, SECRET};

/// The receivers of these tests listen on loopback, which a deployment must allow explicitly.
fn loopback_allowed() -> AddressPolicy {
    AddressPolicy::parse(&["127.0.0.0/8".into()]).unwrap()
}

fn config() -> NotifyConfig {
    NotifyConfig {
        policy: WebhookPolicy::new(loopback_allowed()),
        max_attempts: 3,
        retry: RetryPolicy {
            base_ms: 50,
            factor: 2.0,
            cap_ms: 200,
        },
        poll: Duration::from_millis(20),
        ..NotifyConfig::new(SECRET.into())
    }
}

async fn signed_and_retried(store: Arc<dyn Store>) {
    let receiver = Receiver::default();
    receiver.answers.lock().unwrap().extend([
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::INTERNAL_SERVER_ERROR,
    ]);
    let url = start(receiver.clone()).await;
    let id = finished_job(&store, &url).await;
    let notifier = Notifier::new(store.clone(), config()).unwrap();

    assert_eq!(
        deliver_until_settled(&store, &notifier, &id).await,
        WebhookState::Delivered
    );
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two 500s, then delivered");
    for (signature, event, body, timestamp) in &seen {
        assert_eq!(
            verify(SECRET, signature, body),
            Ok(()),
            "signed: {signature}"
        );
        assert!(verify("another secret", signature, body).is_err());
        assert!(
            signature.starts_with(&format!("t={timestamp},v1=")),
            "{signature}"
        );
        // The documented verifier refuses the same request replayed six minutes later.
        let t: i64 = timestamp.parse().unwrap();
        assert_eq!(
            verify_at(SECRET, signature, body, t + 6 * 60),
            Err(docket_notify::VerifyError::Stale)
        );
        assert_eq!(event, "job.cancelled");
        let job: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(job["id"], id.as_str());
        assert_eq!(job["state"], "cancelled");
    }
    let mut tampered = seen[2].2.to_vec();
    tampered[0] = b' ';
    assert!(
        verify(SECRET, &seen[2].0, &tampered).is_err(),
        "the body is covered"
    );

    let hook = store
        .get_job(&id, 0)
        .await
        .unwrap()
        .unwrap()
        .webhook
        .unwrap();
    let statuses: Vec<_> = hook.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(500), Some(200)]);
    assert!(hook.attempts[0].error.as_deref().unwrap().contains("500"));
    assert!(hook.attempts.windows(2).all(|w| w[0].at <= w[1].at));
}

async fn gives_up_after_max_attempts(store: Arc<dyn Store>) {
    // Nothing listens on port 9 of loopback: every attempt fails to connect.
    let id = finished_job(&store, "http://127.0.0.1:9/hook").await;
    let notifier = Notifier::new(store.clone(), config()).unwrap();
    assert_eq!(
        deliver_until_settled(&store, &notifier, &id).await,
        WebhookState::Failed
    );
    let hook = store
        .get_job(&id, 0)
        .await
        .unwrap()
        .unwrap()
        .webhook
        .unwrap();
    assert_eq!(hook.attempts.len(), 3);
    // No "could not connect": a closed port and a silent one look the same.
    assert!(hook
        .attempts
        .iter()
        .all(|a| a.status.is_none() && a.error.as_deref() == Some("no answer from the receiver")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_signed_and_retried() {
    signed_and_retried(docket_store::testing::fresh_sqlite().await.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_signed_and_retried() {
    signed_and_retried(docket_store::testing::fresh_postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_gives_up_after_max_attempts() {
    gives_up_after_max_attempts(docket_store::testing::fresh_sqlite().await.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_gives_up_after_max_attempts() {
    gives_up_after_max_attempts(docket_store::testing::fresh_postgres().await).await;
}
