//! API rate limits (SPEC §5): a token bucket per token, and a budget of failed
//! authentications per client address (against guessing tokens). `governor` keeps the buckets
//! (GCRA, lock-free); this module only decides whose bucket a request draws from and writes
//! the answer: 429 problem+json with `Retry-After`, and the IETF draft's `RateLimit-Policy`
//! and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers) on every limited answer.
//!
//! Buckets live in each process: with N API processes a token gets N budgets, which a
//! deployment sizes for. A streaming request (SSE, a download) draws once, when it starts.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{HeaderName, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use docket_core::ErrorCode;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::auth::{authenticate, Caller};
use crate::error::AppError;
use crate::AppState;

/// A request budget: `burst` requests at once, refilled at `requests_per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub requests_per_second: u32,
    pub burst: u32,
}

/// The limits of one API process, from configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Every token's budget; `None` turns the per-token limit off.
    pub per_token: Option<Budget>,
    /// Budgets for the tokens of these users instead of `per_token` (a zero rate: none).
    pub users: HashMap<String, Budget>,
    /// Failed authentications allowed per client address and minute (as a burst, refilled
    /// evenly); `None` turns it off.
    pub failed_auth_per_minute: Option<u32>,
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

struct Bucket {
    budget: Budget,
    limiter: Keyed<String>,
}

impl Bucket {
    fn new(budget: Budget) -> Option<Bucket> {
        let rate = NonZeroU32::new(budget.requests_per_second)?;
        let burst = NonZeroU32::new(budget.burst).unwrap_or(rate);
        Some(Bucket {
            budget: Budget {
                requests_per_second: rate.get(),
                burst: burst.get(),
            },
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
                .with_middleware::<StateInformationMiddleware>(),
        })
    }
}

/// The buckets of one API process.
pub struct RateLimits {
    default: Option<Bucket>,
    /// A user's own budget; `None`: that user is not limited.
    users: HashMap<String, Option<Bucket>>,
    failed_auth: Option<(u32, Keyed<IpAddr>)>,
    /// Addresses refused until the given time: while an address is over its failed-auth
    /// budget, no token from it is even checked (a right guess must not be told apart).
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> RateLimits {
        let failed_auth = config.failed_auth_per_minute.and_then(|n| {
            let n = NonZeroU32::new(n)?;
            Some((
                n.get(),
                RateLimiter::keyed(Quota::per_minute(n))
                    .with_middleware::<StateInformationMiddleware>(),
            ))
        });
        RateLimits {
            default: config.per_token.and_then(Bucket::new),
            users: config
                .users
                .iter()
                .map(|(user, budget)| (user.clone(), Bucket::new(*budget)))
                .collect(),
            failed_auth,
            blocked: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    fn bucket_of(&self, user: &str) -> Option<&Bucket> {
        match self.users.get(user) {
            Some(own) => own.as_ref(),
            None => self.default.as_ref(),
        }
    }

    /// Now and then, forgets buckets that are full again (they hold nothing a new one would
    /// not), so memory follows the tokens in use, not every token ever seen.
    fn tidy(&self) {
        if !self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(4096)
        {
            return;
        }
        for bucket in self.default.iter().chain(self.users.values().flatten()) {
            bucket.limiter.retain_recent();
            bucket.limiter.shrink_to_fit();
        }
        if let Some((_, limiter)) = &self.failed_auth {
            limiter.retain_recent();
        }
        if let Ok(mut blocked) = self.blocked.lock() {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
        }
    }

    /// How long `ip` is still refused, if it is.
    fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let blocked = self.blocked.lock().ok()?;
        let until = *blocked.get(&ip)?;
        until.checked_duration_since(Instant::now())
    }

    /// Records a failed authentication from `ip`; how long it is now refused, if its budget
    /// is spent.
    fn failed(&self, ip: IpAddr) -> Option<Duration> {
        let (_, limiter) = self.failed_auth.as_ref()?;
        let wait = limiter
            .check_key(&ip)
            .err()?
            .wait_time_from(self.clock.now());
        if let Ok(mut blocked) = self.blocked.lock() {
            blocked.insert(ip, Instant::now() + wait);
        }
        Some(wait)
    }
}

/// What a limited answer says about the budget: the policy (quota `q` per window `w`
/// seconds) and what is left (`r`) and when it is whole again (`t` seconds).
fn budget_fields(response: &mut Response, budget: Budget, remaining: u32) {
    let window = budget.burst.div_ceil(budget.requests_per_second).max(1);
    let spent = budget.burst.saturating_sub(remaining);
    let full_in = spent.div_ceil(budget.requests_per_second);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("\"token\";q={};w={window}", budget.burst)) {
        headers.insert(HeaderName::from_static("ratelimit-policy"), v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"token\";r={remaining};t={full_in}")) {
        headers.insert(HeaderName::from_static("ratelimit"), v);
    }
}

/// A 429 with `Retry-After` in whole seconds (rounded up, at least 1).
fn too_many(detail: String, wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = AppError::new(ErrorCode::RateLimited, detail).into_response();
    if let Ok(v) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(RETRY_AFTER, v);
    }
    response
}

/// The middleware: authenticates a request that carries a token (once; handlers find the
/// `Caller` in its extensions), refuses an address that failed too often, and draws one
/// request from the token's bucket. Requests without a token pass on to whatever the route
/// does with them (public routes; 401 from the `Caller` extractor).
pub async fn limit(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let limits = state.limits.clone();
    limits.tidy();
    let Some(header) = request.headers().get(AUTHORIZATION).cloned() else {
        return next.run(request).await;
    };
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(wait) = ip.and_then(|ip| limits.blocked_for(ip)) {
        return too_many(
            "too many failed authentications from this address; wait and try again".into(),
            wait,
        );
    }
    let (caller, key) = match authenticate(&state, &header).await {
        Ok(found) => found,
        Err(e) if e.code == ErrorCode::Unauthorized => {
            if let Some(wait) = ip.and_then(|ip| limits.failed(ip)) {
                return too_many(
                    "too many failed authentications from this address; wait and try again".into(),
                    wait,
                );
            }
            return e.into_response();
        }
        Err(e) => return e.into_response(),
    };
    let Some(bucket) = limits.bucket_of(&caller.0) else {
        request.extensions_mut().insert(caller);
        return next.run(request).await;
    };
    match bucket.limiter.check_key(&key) {
        Ok(snapshot) => {
            request.extensions_mut().insert::<Caller>(caller);
            let mut response = next.run(request).await;
            budget_fields(
                &mut response,
                bucket.budget,
                snapshot.remaining_burst_capacity(),
            );
            response
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(limits.clock.now());
            let mut response = too_many(
                format!(
                    "this token's request budget ({} per second, bursts of {}) is spent; \
                     wait and try again",
                    bucket.budget.requests_per_second, bucket.budget.burst
                ),
                wait,
            );
            budget_fields(&mut response, bucket.budget, 0);
            let t = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&format!("\"token\";r=0;t={}", t.max(1))) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static("ratelimit"), v);
            }
            response
        }
    }
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("default", &self.default.as_ref().map(|b| b.budget))
            .field("users", &self.users.len())
            .field(
                "failed_auth_per_minute",
                &self.failed_auth.as_ref().map(|f| f.0),
            )
            .finish()
    }
}
