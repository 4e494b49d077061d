//! Webhooks: when a job with a `notify_url` finishes, POST its resource there.
//!
//! Deliveries live in the database (the job row says what is owed), so they survive restarts
//! and any process running a [`WebhookDeliverer`] may send them; a store-side hold keeps two processes
//! from sending the same attempt. Every attempt is recorded on the job.
//!
//! The body is signed so receivers can trust it: the header
//! `Docket-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (the time is
//! signed too, so a captured request cannot be replayed later with a fresh time).

use std::sync::Arc;
use std::time::Duration;

use docket_core::{now_millis, Job, JobState, Millis, RetryPolicy, WebhookAttempt};
use docket_store::prelude::*;
use docket_store::{StoreError, WebhookNext};
use hmac::{Hmac, Mac};
use sha2::Sha256;

mod webhook_deliverer;

pub use webhook_deliverer::WebhookDeliverer;

#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// The HMAC key shared with receivers.
    pub secret: String,
    /// Attempts before giving up.
    pub max_attempts: u32,
    pub retry: RetryPolicy,
    /// How long one request may take.
    pub timeout: Duration,
    /// How often to look for due deliveries.
    pub poll: Duration,
}

impl NotifyConfig {
    pub fn new(secret: String) -> NotifyConfig {
        NotifyConfig {
            secret,
            max_attempts: 8,
            retry: RetryPolicy {
                base_ms: 2_000,
                factor: 2.0,
                cap_ms: 10 * 60 * 1000,
            },
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
        }
    }
}

/// The header value for `body` signed at `unix_seconds`.
pub fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    format!("t={unix_seconds},v1={}", sign(secret, unix_seconds, body))
}

/// The MAC over `"{t}.{body}"`; `None` only if the key were refused, which HMAC never does.
fn mac(secret: &str, unix_seconds: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

fn sign(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    mac(secret, unix_seconds, body)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Checks a `Docket-Signature` header against `body`, in constant time. For receivers written
/// in Rust, and for the tests.
pub fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    mac(secret, t, body).is_some_and(|m| m.verify_slice(&v1).is_ok())
}

pub struct Notifier {
    store: Arc<dyn Store>,
    config: NotifyConfig,
    client: reqwest::Client,
}

/// Deliveries sent at once per poll.
const BATCH: usize = 16;

impl Notifier {
    pub fn new(store: Arc<dyn Store>, config: NotifyConfig) -> Result<Notifier, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("docket/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Notifier {
            store,
            config,
            client,
        })
    }

    /// One round: takes the due deliveries and sends them. Returns how many were attempted;
    /// fails only if the store could not be asked (a failed delivery is recorded and retried).
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let now = now_millis();
        // Held long enough for every attempt of the batch to finish or time out.
        let hold = now + 2 * self.config.timeout.as_millis() as Millis + 5_000;
        let due = self.store.due_webhooks(now, hold, BATCH).await?;
        let count = due.len();
        let sends = due.into_iter().map(|job| self.deliver(job));
        futures::future::join_all(sends).await;
        Ok(count)
    }

    async fn deliver(&self, job: Job) {
        let Some(hook) = job.webhook.clone() else {
            return;
        };
        let attempt = hook.attempts.len() as u32 + 1;
        let (status, error) = self.post(&hook.url, &job).await;
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let next = if delivered {
            WebhookNext::Delivered
        } else if attempt >= self.config.max_attempts {
            WebhookNext::GiveUp
        } else {
            let delay = self.config.retry.delay_ms(attempt);
            WebhookNext::RetryAt(now_millis() + delay)
        };
        if !delivered {
            tracing::info!(job = %job.id, attempt, ?status, "webhook delivery failed: {error:?}");
        }
        let record = WebhookAttempt {
            attempt,
            at: now_millis(),
            status,
            error,
        };
        if let Err(e) = self.store.record_webhook(&job.id, record, next).await {
            // The hold lapses and the attempt is made again: at least once, never lost.
            tracing::warn!(job = %job.id, "recording a webhook attempt failed: {e}");
        }
    }

    async fn post(&self, url: &str, job: &Job) -> (Option<u16>, Option<String>) {
        let body = match serde_json::to_vec(job) {
            Ok(body) => body,
            Err(e) => return (None, Some(format!("the job could not be encoded: {e}"))),
        };
        let t = now_millis() / 1000;
        let event = match job.state {
            JobState::Completed => "job.completed",
            JobState::Failed => "job.failed",
            _ => "job.cancelled",
        };
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("docket-event", event)
            .header("docket-delivery", format!("{}:{}", job.id, t))
            .header("docket-signature", signature(&self.config.secret, t, &body))
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => (
                Some(r.status().as_u16()),
                Some(format!("the receiver answered {}", r.status())),
            ),
            Err(e) if e.is_timeout() => (None, Some("the receiver did not answer in time".into())),
            Err(e) if e.is_connect() => (None, Some("could not connect to the receiver".into())),
            Err(e) => (None, Some(format!("the request failed: {e}"))),
        }
    }
}
