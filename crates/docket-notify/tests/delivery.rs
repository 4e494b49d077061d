//! Webhook delivery against a real HTTP receiver on a real port, with real databases.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use docket_core::{JobKind, JobOptions, RetryPolicy, WebhookState};
use docket_notify::{verify, Notifier, NotifyConfig};
use docket_store::prelude::*;
use docket_store::{NewItem, NewJob};

const SECRET: &str = "test-secret";

#[derive(Clone, Default)]
struct Receiver {
    /// (signature header, event header, body) of every request, in arrival order.
    seen: Arc<Mutex<Vec<(String, String, Bytes)>>>,
    /// Answers to give, in order; 200 once they run out.
    answers: Arc<Mutex<Vec<StatusCode>>>,
}

async fn start(receiver: Receiver) -> String {
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let receiver = receiver.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                receiver.seen.lock().unwrap().push((
                    header("docket-signature"),
                    header("docket-event"),
                    body,
                ));
                let mut answers = receiver.answers.lock().unwrap();
                if answers.is_empty() {
                    StatusCode::OK
                } else {
                    answers.remove(0)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

async fn finished_job(store: &Arc<dyn Store>, url: &str) -> String {
    let options = JobOptions {
        notify_url: Some(url.to_owned()),
        ..JobOptions::default()
    };
    let new = NewJob {
        id: None,
        user: "u".into(),
        kind: JobKind::Noop,
        options,
        idempotency_key: None,
        items: vec![NewItem {
            name: "a".into(),
            payload: docket_core::ItemPayload::Noop { sleep_ms: None },
        }],
        source: None,
    };
    let id = store.create_job(new, 0).await.unwrap().job.id;
    store.cancel_job(&id, 1).await.unwrap();
    id
}

fn config() -> NotifyConfig {
    NotifyConfig {
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

/// Runs delivery rounds until the job's webhook is no longer pending (or 10 s pass).
async fn deliver_until_settled(
    store: &Arc<dyn Store>,
    notifier: &Notifier,
    id: &str,
) -> WebhookState {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        notifier.deliver_due().await.unwrap();
        let job = store.get_job(id, 0).await.unwrap().unwrap();
        let state = job.webhook.unwrap().state;
        if state != WebhookState::Pending || Instant::now() > deadline {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
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
    for (signature, event, body) in &seen {
        assert!(verify(SECRET, signature, body), "signed: {signature}");
        assert!(!verify("another secret", signature, body));
        assert_eq!(event, "job.cancelled");
        let job: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(job["id"], id.as_str());
        assert_eq!(job["state"], "cancelled");
    }
    let mut tampered = seen[2].2.to_vec();
    tampered[0] = b' ';
    assert!(
        !verify(SECRET, &seen[2].0, &tampered),
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
    assert!(hook
        .attempts
        .iter()
        .all(|a| a.status.is_none() && a.error.is_some()));
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
