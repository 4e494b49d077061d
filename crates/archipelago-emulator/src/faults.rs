//! Injected faults: failed answers, reset connections, an outage, slow answers.
//!
//! Faults apply to `/jsonapi` requests only, before authentication, the way a proxy or a
//! broken network in front of the site would. The admin routes under `/_emulator` never fail.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Answer the next `count` matching requests with `status` and a JSON:API error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailRule {
    pub count: u32,
    pub status: u16,
    /// Sent as `Retry-After: <seconds>`.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Only requests whose path (with query) contains this string.
    #[serde(default)]
    pub path_contains: Option<String>,
}

/// Close the connection of the next `count` matching requests without any HTTP answer
/// (a TCP reset: the client sees a connection error, never a status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRule {
    pub count: u32,
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Handle the request first (store what it stores), then reset instead of answering:
    /// the answer is lost, as when a connection drops just after the site acted.
    #[serde(default)]
    pub after_handling: bool,
}

/// The faults in force, as the admin route shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsSnapshot {
    pub fail: Vec<FailRule>,
    pub reset: Vec<ResetRule>,
    /// Milliseconds of outage left.
    pub down_for_ms: u64,
    pub delay_ms: u64,
}

/// What the fault layer does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Reset,
    /// Handle it, then reset instead of answering.
    ResetAfter,
    Fail {
        status: u16,
        retry_after_secs: Option<u64>,
    },
}

#[derive(Debug, Default)]
struct FaultSet {
    fail: Vec<FailRule>,
    reset: Vec<ResetRule>,
    down_until: Option<Instant>,
    delay: Duration,
}

/// A clonable handle on an emulator's faults.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultSet>>,
}

fn matches(filter: &Option<String>, path: &str) -> bool {
    filter.as_deref().is_none_or(|needle| path.contains(needle))
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultSet> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Fail the next `count` requests with `status`.
    pub fn fail_next(&self, count: u32, status: u16) {
        self.fail(FailRule {
            count,
            status,
            retry_after_secs: None,
            path_contains: None,
        });
    }

    /// Add a failure rule; rules are used in the order they were added.
    pub fn fail(&self, rule: FailRule) {
        self.lock().fail.push(rule);
    }

    /// Reset the connections of the next `count` requests.
    pub fn reset_next(&self, count: u32) {
        self.reset(ResetRule {
            count,
            path_contains: None,
            after_handling: false,
        });
    }

    pub fn reset(&self, rule: ResetRule) {
        self.lock().reset.push(rule);
    }

    /// Be down for `duration`: every request's connection is reset until it has passed.
    pub fn down_for(&self, duration: Duration) {
        self.lock().down_until = Some(Instant::now() + duration);
    }

    /// Delay every request by `delay` before answering (zero: no delay).
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Remove every fault.
    pub fn clear(&self) {
        *self.lock() = FaultSet::default();
    }

    pub fn snapshot(&self) -> FaultsSnapshot {
        let set = self.lock();
        let now = Instant::now();
        FaultsSnapshot {
            fail: set.fail.clone(),
            reset: set.reset.clone(),
            down_for_ms: set.down_until.map_or(0, |until| {
                until.saturating_duration_since(now).as_millis() as u64
            }),
            delay_ms: set.delay.as_millis() as u64,
        }
    }

    pub(crate) fn delay(&self) -> Duration {
        self.lock().delay
    }

    /// Decide the fate of one request, using up one count of the rule that applies.
    pub(crate) fn judge(&self, path: &str) -> Verdict {
        let mut set = self.lock();
        if set.down_until.is_some_and(|until| Instant::now() < until) {
            return Verdict::Reset;
        }
        if let Some(rule) = set
            .reset
            .iter_mut()
            .find(|rule| rule.count > 0 && matches(&rule.path_contains, path))
        {
            rule.count -= 1;
            let verdict = if rule.after_handling {
                Verdict::ResetAfter
            } else {
                Verdict::Reset
            };
            set.reset.retain(|rule| rule.count > 0);
            return verdict;
        }
        if let Some(rule) = set
            .fail
            .iter_mut()
            .find(|rule| rule.count > 0 && matches(&rule.path_contains, path))
        {
            rule.count -= 1;
            let verdict = Verdict::Fail {
                status: rule.status,
                retry_after_secs: rule.retry_after_secs,
            };
            set.fail.retain(|rule| rule.count > 0);
            return verdict;
        }
        Verdict::Pass
    }
}
