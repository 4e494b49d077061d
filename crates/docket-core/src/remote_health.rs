//! A remote's circuit breaker (SPEC §4): repeated transport-level failures within a short
//! window mark it down; while down it is probed with backoff; an answer marks it up again.
//! The state lives in the database so that every process reaches the same verdict.

use serde::{Deserialize, Serialize};

use crate::Millis;

/// When a remote is marked down and how often it is probed meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Transport failures within `window_ms` that mark the remote down.
    pub failures_to_trip: u32,
    pub window_ms: i64,
    /// First probe this long after the remote went down; doubles per probe up to the cap.
    pub probe_base_ms: i64,
    pub probe_cap_ms: i64,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failures_to_trip: 5,
            window_ms: 30_000,
            probe_base_ms: 1_000,
            probe_cap_ms: 10_000,
        }
    }
}

/// One remote's health, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteHealth {
    pub name: String,
    pub up: bool,
    /// When it entered its current state.
    pub since: Millis,
    /// Transport failures in the current window (while up).
    pub failures: u32,
    pub window_started_at: Option<Millis>,
    /// The last transport failure (no URL, no credential: `docket-remote` keeps them out).
    pub last_error: Option<String>,
    pub last_error_at: Option<Millis>,
    /// While down: when the next probe is due, and how many were made so far.
    pub next_probe_at: Option<Millis>,
    pub probes: u32,
}

impl RemoteHealth {
    /// A remote nothing has gone wrong with yet.
    pub fn new(name: &str, now: Millis) -> RemoteHealth {
        RemoteHealth {
            name: name.to_owned(),
            up: true,
            since: now,
            failures: 0,
            window_started_at: None,
            last_error: None,
            last_error_at: None,
            next_probe_at: None,
            probes: 0,
        }
    }

    /// A transport failure. Returns true if this one marked the remote down.
    pub fn on_transport_failure(
        &mut self,
        error: &str,
        now: Millis,
        policy: &BreakerPolicy,
    ) -> bool {
        self.last_error = Some(error.to_owned());
        self.last_error_at = Some(now);
        if !self.up {
            return false;
        }
        let window_open = self
            .window_started_at
            .is_some_and(|started| now - started <= policy.window_ms);
        if window_open {
            self.failures += 1;
        } else {
            self.failures = 1;
            self.window_started_at = Some(now);
        }
        if self.failures >= policy.failures_to_trip.max(1) {
            self.up = false;
            self.since = now;
            self.failures = 0;
            self.window_started_at = None;
            self.probes = 0;
            self.next_probe_at = Some(now + policy.probe_base_ms);
            return true;
        }
        false
    }

    /// When the probe after the one made now is due (the backoff doubles per probe).
    pub fn next_probe_after(&self, now: Millis, policy: &BreakerPolicy) -> Millis {
        let doubled = policy
            .probe_base_ms
            .saturating_mul(1i64 << self.probes.saturating_add(1).min(20));
        now + doubled.min(policy.probe_cap_ms)
    }

    /// The remote answered a probe: it is up again.
    pub fn on_back(&mut self, now: Millis) {
        self.up = true;
        self.since = now;
        self.failures = 0;
        self.window_started_at = None;
        self.next_probe_at = None;
        self.probes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_failures_in_a_window_mark_a_remote_down() {
        let policy = BreakerPolicy {
            failures_to_trip: 3,
            window_ms: 1_000,
            probe_base_ms: 100,
            probe_cap_ms: 1_000,
        };
        let mut r = RemoteHealth::new("vision", 0);
        assert!(!r.on_transport_failure("reset", 10, &policy));
        assert!(!r.on_transport_failure("reset", 20, &policy));
        // The window ran out: counting starts again.
        assert!(!r.on_transport_failure("reset", 2_000, &policy));
        assert_eq!(r.failures, 1);
        assert!(!r.on_transport_failure("reset", 2_100, &policy));
        assert!(r.on_transport_failure("refused", 2_200, &policy));
        assert!(!r.up);
        assert_eq!(r.since, 2_200);
        assert_eq!(r.next_probe_at, Some(2_300));
        assert_eq!(r.last_error.as_deref(), Some("refused"));
        // Further failures only update the error.
        assert!(!r.on_transport_failure("still refused", 2_250, &policy));
        assert!(!r.up);
        assert_eq!(r.next_probe_after(3_000, &policy), 3_200);
        r.probes = 10;
        assert_eq!(r.next_probe_after(3_000, &policy), 4_000);
        r.on_back(5_000);
        assert!(r.up);
        assert_eq!((r.since, r.probes, r.next_probe_at), (5_000, 0, None));
    }
}
