//! Injected faults: an outage (connections reset, or refused), whole requests failed with a
//! status (429 with `Retry-After`, 500, …), per-image errors, slow answers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How an outage looks to a client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownMode {
    /// Connections are accepted and reset at once (a TCP RST, no HTTP answer).
    #[default]
    Reset,
    /// Nothing listens: connections are refused.
    Refuse,
}

/// Answer the next `count` requests with `status` and Google's error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailRule {
    pub count: u32,
    pub status: u16,
    /// Sent as `Retry-After: <seconds>`.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
}

/// Answer the next `count` images with `responses[i].error` (a `google.rpc.Status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageErrorRule {
    pub count: u32,
    /// A `google.rpc.Code`: 3 INVALID_ARGUMENT, 13 INTERNAL, 14 UNAVAILABLE, …
    #[serde(default = "internal")]
    pub code: i32,
}

fn internal() -> i32 {
    13
}

/// The faults in force, as the admin route shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsSnapshot {
    pub fail: Vec<FailRule>,
    pub image_errors: Vec<ImageErrorRule>,
    /// Milliseconds of outage left.
    pub down_for_ms: u64,
    pub down_mode: DownMode,
    pub delay_ms: u64,
}

#[derive(Debug, Default)]
struct FaultSet {
    fail: Vec<FailRule>,
    image_errors: Vec<ImageErrorRule>,
    down_until: Option<Instant>,
    down_mode: DownMode,
    delay: Duration,
}

/// A clonable handle on an emulator's faults.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultSet>>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultSet> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fail the next `count` requests with `status` (and a `Retry-After`, if given).
    pub fn fail(&self, rule: FailRule) {
        self.lock().fail.push(rule);
    }

    /// Answer the next `count` images with a per-image error of `code`.
    pub fn image_errors(&self, rule: ImageErrorRule) {
        self.lock().image_errors.push(rule);
    }

    /// Be down for `duration`, in the given way.
    pub fn down_for(&self, duration: Duration, mode: DownMode) {
        let mut set = self.lock();
        set.down_until = Some(Instant::now() + duration);
        set.down_mode = mode;
    }

    /// Delay every answer by `delay` (zero: none).
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    pub fn clear(&self) {
        *self.lock() = FaultSet::default();
    }

    pub fn snapshot(&self) -> FaultsSnapshot {
        let set = self.lock();
        FaultsSnapshot {
            fail: set.fail.clone(),
            image_errors: set.image_errors.clone(),
            down_for_ms: set.down_until.map_or(0, |until| {
                until.saturating_duration_since(Instant::now()).as_millis() as u64
            }),
            down_mode: set.down_mode,
            delay_ms: set.delay.as_millis() as u64,
        }
    }

    /// While down: until when, and how.
    pub(crate) fn down(&self) -> Option<(Instant, DownMode)> {
        let set = self.lock();
        set.down_until
            .filter(|until| Instant::now() < *until)
            .map(|until| (until, set.down_mode))
    }

    pub(crate) fn delay(&self) -> Duration {
        self.lock().delay
    }

    /// The status (and `Retry-After`) to fail this request with, using up one count.
    pub(crate) fn take_failure(&self) -> Option<(u16, Option<u64>)> {
        let mut set = self.lock();
        let rule = set.fail.iter_mut().find(|r| r.count > 0)?;
        rule.count -= 1;
        let verdict = (rule.status, rule.retry_after_secs);
        set.fail.retain(|r| r.count > 0);
        Some(verdict)
    }

    /// The error code to answer this image with, using up one count.
    pub(crate) fn take_image_error(&self) -> Option<i32> {
        let mut set = self.lock();
        let rule = set.image_errors.iter_mut().find(|r| r.count > 0)?;
        rule.count -= 1;
        let code = rule.code;
        set.image_errors.retain(|r| r.count > 0);
        Some(code)
    }
}
