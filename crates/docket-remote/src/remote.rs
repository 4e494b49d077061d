use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use reqwest::{RequestBuilder, Response};

use crate::error::{transient_status, RemoteError, RemoteErrorKind};
use crate::{parse_retry_after, Health, Pace, Rate, Secret};

/// How one remote is called.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// The remote's name in messages (a configured target's name, never its URL).
    pub name: String,
    /// Per request, from connecting to the end of the answer's headers.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts of one call before a transient failure is reported (the first included).
    pub attempts: u32,
    /// First wait between attempts; doubles per attempt up to `backoff_cap`, with jitter.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// No call waits in place longer than this in all; what remains is the engine's retry.
    /// Waits asked for by 429s do not count: a remote that is only busy never fails a call.
    pub budget: Duration,
    /// The request rate of this process to the remote (`None`: as fast as it answers).
    pub rate: Option<Rate>,
}

impl RemoteConfig {
    pub fn named(name: impl Into<String>) -> RemoteConfig {
        RemoteConfig {
            name: name.into(),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            attempts: 8,
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(8),
            budget: Duration::from_secs(45),
            rate: None,
        }
    }
}

/// Whether a call may be sent again after a failure that leaves open whether the remote got
/// it (a timeout or a reset after the request went out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Sending it twice does no harm: reads, and creates under a client-chosen id (a repeat
    /// answers 409).
    Safe,
    /// Sending it twice could store something twice (a file upload): it is retried in place
    /// only when it surely did not arrive (no connection, or an answer refusing it).
    IfUnsent,
}

/// A remote service, called through [`Remote::call`].
#[derive(Debug, Clone)]
pub struct Remote {
    config: RemoteConfig,
    client: reqwest::Client,
    /// Removed from every message (a remote may echo a credential back).
    secrets: Vec<Secret>,
    /// Shared by clones: the whole process keeps one pace per remote.
    pace: Arc<Pace>,
    health: Option<Arc<dyn Health>>,
}

impl std::fmt::Debug for dyn Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Health")
    }
}

/// How long one call waits in all for a remote that keeps answering 429, before it gives
/// the item back as a transient failure (far beyond any real `Retry-After`).
const TOO_MANY_REQUESTS_LIMIT: Duration = Duration::from_secs(600);

/// How much of an error answer is read for its message.
const ERROR_BODY_LIMIT: usize = 16 * 1024;
/// How much of the remote's message is kept.
const DETAIL_LIMIT: usize = 500;

impl Remote {
    pub fn new(config: RemoteConfig, secrets: Vec<Secret>) -> Result<Remote, RemoteError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            // A redirect could carry credentials elsewhere; a publish target answers directly.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RemoteError {
                remote: config.name.clone(),
                kind: RemoteErrorKind::Permanent,
                status: None,
                detail: format!("cannot build an HTTP client: {}", e.without_url()),
                retry_after: None,
                may_have_arrived: false,
            })?;
        Ok(Remote {
            pace: Arc::new(Pace::new(config.rate)),
            config,
            client,
            secrets,
            health: None,
        })
    }

    /// Tells `health` about every transport failure and answer, and stops calls early
    /// while it says the remote is down.
    pub fn with_health(mut self, health: Arc<dyn Health>) -> Remote {
        self.health = Some(health);
        self
    }

    /// The time currently put between requests because the remote answered 429.
    pub fn slowdown(&self) -> Duration {
        self.pace.spacing()
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn config(&self) -> &RemoteConfig {
        &self.config
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes (once per attempt, so a streamed body is opened
    /// afresh), retrying transient failures in place within the configured budget. Answers
    /// with a 2xx status, or one of `accept` (e.g. 404 for a look-up, 409 for "exists"), are
    /// returned; any other answer is an error carrying the remote's own message.
    pub async fn call<F, Fut>(
        &self,
        what: &str,
        accept: &[u16],
        build: F,
    ) -> Result<Response, RemoteError>
    where
        F: FnMut(&reqwest::Client) -> Fut,
        Fut: Future<Output = Result<RequestBuilder, RemoteError>>,
    {
        self.call_with(what, accept, Replay::Safe, build).await
    }

    /// [`Remote::call`] of a request that `replay` says whether it may be repeated.
    pub async fn call_with<F, Fut>(
        &self,
        what: &str,
        accept: &[u16],
        replay: Replay,
        mut build: F,
    ) -> Result<Response, RemoteError>
    where
        F: FnMut(&reqwest::Client) -> Fut,
        Fut: Future<Output = Result<RequestBuilder, RemoteError>>,
    {
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut pushed_back = Duration::ZERO;
        loop {
            attempt += 1;
            if let Some(health) = &self.health {
                if health.is_down(&self.config.name).await {
                    return Err(self.down(what, None));
                }
            }
            let turn = Instant::now();
            self.pace.wait_turn().await;
            let request = build(&self.client).await?;
            let sent = request.send().await;
            if let (Ok(_), Some(health)) = (&sent, &self.health) {
                health.answered(&self.config.name).await;
            }
            let error = match sent {
                Ok(answer) if answer.status().is_success() => {
                    self.pace.answered();
                    return Ok(answer);
                }
                Ok(answer) if accept.contains(&answer.status().as_u16()) => {
                    self.pace.answered();
                    return Ok(answer);
                }
                Ok(answer) => self.refusal(what, answer).await,
                Err(e) => {
                    let error = self.transport(what, &e);
                    if let Some(health) = &self.health {
                        if health.transport_failed(&error).await {
                            return Err(self.down(what, Some(&error)));
                        }
                    }
                    error
                }
            };
            // A busy remote: slow the whole process down and ask again, without spending
            // an attempt or the budget (SPEC §4: 429s never fail items).
            if error.status == Some(429) {
                self.pace.too_many_requests(error.retry_after);
                pushed_back += turn.elapsed();
                if pushed_back < TOO_MANY_REQUESTS_LIMIT {
                    attempt -= 1;
                    tracing::debug!(remote = %self.config.name, "429: slowing down");
                    continue;
                }
                return Err(error);
            }
            let unsafe_to_repeat = replay == Replay::IfUnsent && error.may_have_arrived;
            if !error.is_transient() || attempt >= self.config.attempts || unsafe_to_repeat {
                return Err(error);
            }
            let wait = error
                .retry_after
                .unwrap_or_default()
                .max(self.backoff(attempt));
            if started.elapsed().saturating_sub(pushed_back) + wait > self.config.budget {
                return Err(error);
            }
            tracing::debug!(remote = %self.config.name, %error, ?wait, "retrying a remote call");
            tokio::time::sleep(wait).await;
        }
    }

    /// Turns an answer the caller did not expect into an error with the remote's message.
    pub async fn refusal(&self, what: &str, answer: Response) -> RemoteError {
        let status = answer.status();
        let retry_after = answer
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = read_capped(answer).await;
        let said = remote_message(&body);
        let reason = status.canonical_reason().unwrap_or("");
        let detail = match said {
            Some(said) => format!("{what}: HTTP {} {reason}: {said}", status.as_u16()),
            None => format!("{what}: HTTP {} {reason}", status.as_u16()),
        };
        RemoteError {
            remote: self.config.name.clone(),
            kind: if transient_status(status.as_u16()) {
                RemoteErrorKind::Transient
            } else {
                RemoteErrorKind::Permanent
            },
            status: Some(status.as_u16()),
            detail: self.redact(&detail),
            retry_after,
            may_have_arrived: false,
        }
    }

    /// The remote is marked down: the call is not made (or not made again).
    fn down(&self, what: &str, last: Option<&RemoteError>) -> RemoteError {
        let detail = match last {
            Some(last) => format!("{what}: the remote is down ({})", last.detail),
            None => format!("{what}: the remote is down"),
        };
        RemoteError {
            remote: self.config.name.clone(),
            kind: RemoteErrorKind::Down,
            status: None,
            detail: self.redact(&detail),
            retry_after: None,
            may_have_arrived: last.is_some_and(|l| l.may_have_arrived),
        }
    }

    /// An error of our own making about the remote's answer (unreadable, unexpected).
    pub fn broken_answer(&self, what: &str, why: impl std::fmt::Display) -> RemoteError {
        RemoteError {
            remote: self.config.name.clone(),
            kind: RemoteErrorKind::Transient,
            status: None,
            detail: self.redact(&format!("{what}: unexpected answer: {why}")),
            retry_after: None,
            may_have_arrived: false,
        }
    }

    fn transport(&self, what: &str, e: &reqwest::Error) -> RemoteError {
        // `without_url`: a URL may carry a key (`?key=`); the chain says what really happened.
        let mut text = if e.is_timeout() {
            format!("timed out after {:?}", self.config.timeout)
        } else if e.is_connect() {
            "cannot connect".to_string()
        } else {
            "the connection failed".to_string()
        };
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        let body_error = e.is_body() || e.is_decode();
        RemoteError {
            remote: self.config.name.clone(),
            kind: if e.is_builder() && !body_error {
                RemoteErrorKind::Permanent
            } else {
                RemoteErrorKind::Transient
            },
            status: None,
            detail: self.redact(&format!("{what}: {text}")),
            retry_after: None,
            may_have_arrived: !e.is_connect() && !e.is_builder(),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.backoff_base.as_millis() as f64;
        let cap = self.config.backoff_cap.as_millis() as f64;
        let exp = (base * 2f64.powi(attempt.saturating_sub(1).min(20) as i32)).min(cap);
        let jitter = rand::thread_rng().gen_range(0.5..=1.0);
        Duration::from_millis((exp * jitter) as u64)
    }

    pub fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |text, s| s.redact(&text))
    }
}

async fn read_capped(mut answer: Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = answer.chunk().await {
        let room = ERROR_BODY_LIMIT.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= ERROR_BODY_LIMIT {
            break;
        }
    }
    body
}

/// The remote's own words: JSON:API `errors[].detail` (or `title`), a problem+json or
/// Google-style `detail`/`error.message`, else the start of the text.
fn remote_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let said = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => json_message(&json).unwrap_or_else(|| text.trim().to_string()),
        Err(_) => text.trim().to_string(),
    };
    let said: String = said
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(DETAIL_LIMIT)
        .collect();
    (!said.is_empty()).then_some(said)
}

fn json_message(json: &serde_json::Value) -> Option<String> {
    if let Some(errors) = json.get("errors").and_then(|e| e.as_array()) {
        let parts: Vec<String> = errors
            .iter()
            .filter_map(|e| {
                e.get("detail")
                    .or_else(|| e.get("title"))
                    .and_then(|d| d.as_str())
                    .map(str::to_string)
            })
            .collect();
        if !parts.is_empty() {
            return Some(parts.join("; "));
        }
    }
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
    text(json.get("detail"))
        .or_else(|| text(json.pointer("/error/message")))
        .or_else(|| text(json.get("message")))
        .or_else(|| text(json.get("error")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_s_own_words_are_kept() {
        let jsonapi = br#"{"errors":[{"title":"Unprocessable","status":"422","detail":"title: This value should not be null."}]}"#;
        assert_eq!(
            remote_message(jsonapi).as_deref(),
            Some("title: This value should not be null.")
        );
        let google =
            br#"{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}"#;
        assert_eq!(
            remote_message(google).as_deref(),
            Some("API key not valid.")
        );
        assert_eq!(
            remote_message(b"<html>Bad\nGateway</html>").as_deref(),
            Some("<html>Bad Gateway</html>")
        );
        assert_eq!(remote_message(b"  "), None);
    }
}
