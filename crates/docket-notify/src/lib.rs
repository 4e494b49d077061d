//! Webhooks: when a job with a `notify_url` finishes, POST its resource there.
//!
//! Deliveries live in the database (the job row says what is owed), so they survive restarts
//! and any process running a [`WebhookDeliverer`] may send them; a store-side hold keeps two processes
//! from sending the same attempt. Every attempt is recorded on the job.
//!
//! The body is signed so receivers can trust it ([`signature`]): the time is signed with it and
//! a verifier refuses old times, so a captured request cannot be replayed.
//!
//! Any user chooses a `notify_url`, so where a webhook may go is a policy ([`policy`]): http(s)
//! only, no credentials, and only to public addresses (or ranges the configuration allows),
//! checked at submit and again on the address actually dialled. What an attempt records says
//! no more than "refused by policy", "the receiver answered N" or "no answer", so the attempt
//! log cannot be used to scan a network.

use std::sync::Arc;
use std::time::Duration;

use docket_core::{now_millis, Job, JobState, Millis, RetryPolicy, WebhookAttempt};
use docket_store::prelude::*;
use docket_store::{StoreError, WebhookNext};

pub mod address;
pub mod policy;
mod signature;
mod webhook_deliverer;

pub use address::AddressPolicy;
pub use policy::{Refusal, WebhookPolicy};
pub use signature::{signature, verify, verify_at, VerifyError, TOLERANCE};
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
    /// Where webhooks may be sent (checked again on every address dialled).
    pub policy: WebhookPolicy,
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
            policy: WebhookPolicy::default(),
        }
    }
}

pub struct Notifier {
    store: Arc<dyn Store>,
    config: NotifyConfig,
    client: reqwest::Client,
}

/// The attempt error for a destination the policy refuses.
const REFUSED: &str = "refused by policy";
/// The attempt error for every failure without an HTTP answer.
const NO_ANSWER: &str = "no answer from the receiver";

/// Whether the request failed because the policy resolver refused every address.
fn refused_by_policy(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<policy::RefusedByPolicy>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// Deliveries sent at once per poll.
const BATCH: usize = 16;

impl Notifier {
    pub fn new(store: Arc<dyn Store>, config: NotifyConfig) -> Result<Notifier, reqwest::Error> {
        // Every name is resolved through the policy, so only permitted addresses are dialled;
        // no proxy (it would resolve names itself), and no redirects (they would lead anywhere).
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(config.policy.dialling_resolver()))
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
        // A literal address is dialled without resolving: judge it here. (A job stored before
        // the policy existed may also carry credentials or another scheme.)
        match policy::destination(url) {
            Ok(policy::Destination::Address(ip)) if !self.config.policy.addresses().permits(ip) => {
                return (None, Some(REFUSED.into()))
            }
            Ok(_) => {}
            Err(_) => return (None, Some(REFUSED.into())),
        }
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
            .header("docket-timestamp", t.to_string())
            .header("docket-signature", signature(&self.config.secret, t, &body))
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => (
                Some(r.status().as_u16()),
                Some(format!("the receiver answered {}", r.status().as_u16())),
            ),
            Err(e) if refused_by_policy(&e) => (None, Some(REFUSED.into())),
            Err(e) => {
                // Refused, reset, timed out or TLS: all one to the user (telling them apart
                // would map the network); the log keeps the cause for the operator.
                tracing::debug!(job = %job.id, "webhook request failed: {e:#}");
                (None, Some(NO_ANSWER.into()))
            }
        }
    }
}
