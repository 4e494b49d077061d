//! What the webhook tests share: a real receiver on a loopback port, finished jobs in a real
//! store, and delivery rounds until a webhook settles.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use docket_core::{JobKind, JobOptions, WebhookState};
use docket_notify::Notifier;
use docket_store::prelude::*;
use docket_store::{NewItem, NewJob};

pub const SECRET: &str = "test-secret";

/// (signature header, event header, body, timestamp header) of one request.
pub type Request = (String, String, Bytes, String);

#[derive(Clone, Default)]
pub struct Receiver {
    /// Every request, in arrival order.
    pub seen: Arc<Mutex<Vec<Request>>>,
    /// Answers to give, in order; 200 once they run out.
    pub answers: Arc<Mutex<Vec<StatusCode>>>,
}

pub async fn start(receiver: Receiver) -> String {
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
                    header("docket-timestamp"),
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

pub async fn finished_job(store: &Arc<dyn Store>, url: &str) -> String {
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

/// Runs delivery rounds until the job's webhook is no longer pending (or 10 s pass).
pub async fn deliver_until_settled(
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
