//! How fast one remote is called by this process: the configured rate (a token bucket,
//! `governor`), slowed down further while the remote answers 429 and eased back as it
//! answers again. Shared by every worker of the process (clones of a [`crate::Remote`]
//! share it), so a slow-down asked of one worker applies to all.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A request rate from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second, on average; fractions allowed (0.5: one every 2 s).
    pub per_second: f64,
    /// Requests that may go at once after a quiet spell. At least 1.
    pub burst: u32,
}

/// The smallest spacing a 429 imposes, and the largest it grows to.
const MIN_SPACING: Duration = Duration::from_millis(100);
const MAX_SPACING: Duration = Duration::from_secs(10);
/// Below this the spacing has eased off completely.
const SPACING_GONE: Duration = Duration::from_millis(10);

#[derive(Debug)]
struct Adaptive {
    /// Time between two requests while the remote is pushing back; zero when it is not.
    spacing: Duration,
    next_slot: Instant,
    /// A `Retry-After`: nobody sends before it.
    hold_until: Option<Instant>,
}

pub struct Pace {
    limiter: Option<DefaultDirectRateLimiter>,
    adaptive: Mutex<Adaptive>,
}

impl std::fmt::Debug for Pace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pace")
            .field("limited", &self.limiter.is_some())
            .field("spacing", &self.spacing())
            .finish()
    }
}

impl Pace {
    /// `None`, or a rate that is not a positive finite number: no configured limit.
    pub fn new(rate: Option<Rate>) -> Pace {
        let limiter = rate
            .filter(|r| r.per_second.is_finite() && r.per_second > 0.0)
            .and_then(|r| {
                let period = Duration::from_secs_f64(1.0 / r.per_second);
                let burst = NonZeroU32::new(r.burst.max(1))?;
                Some(Quota::with_period(period)?.allow_burst(burst))
            })
            .map(RateLimiter::direct);
        Pace {
            limiter,
            adaptive: Mutex::new(Adaptive {
                spacing: Duration::ZERO,
                next_slot: Instant::now(),
                hold_until: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Adaptive> {
        self.adaptive.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until this process may send the next request to the remote.
    pub async fn wait_turn(&self) {
        let hold = self.lock().hold_until;
        if let Some(until) = hold {
            tokio::time::sleep_until(until.into()).await;
        }
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        let slot = {
            let mut a = self.lock();
            if a.spacing.is_zero() {
                None
            } else {
                let slot = a.next_slot.max(Instant::now());
                a.next_slot = slot + a.spacing;
                Some(slot)
            }
        };
        if let Some(slot) = slot {
            tokio::time::sleep_until(slot.into()).await;
        }
    }

    /// The remote answered 429: halve the pace (and wait out its `Retry-After`).
    pub fn too_many_requests(&self, retry_after: Option<Duration>) {
        let mut a = self.lock();
        a.spacing = (a.spacing * 2).clamp(MIN_SPACING, MAX_SPACING);
        if let Some(wait) = retry_after {
            let until = Instant::now() + wait.min(Duration::from_secs(3600));
            a.hold_until = Some(a.hold_until.map_or(until, |held| held.max(until)));
        }
    }

    /// The remote answered a request: ease the slow-down off.
    pub fn answered(&self) {
        let mut a = self.lock();
        if !a.spacing.is_zero() {
            a.spacing = a.spacing * 3 / 4;
            if a.spacing < SPACING_GONE {
                a.spacing = Duration::ZERO;
            }
        }
        if a.hold_until.is_some_and(|until| until <= Instant::now()) {
            a.hold_until = None;
        }
    }

    /// The time put between requests because of 429s (zero: full speed).
    pub fn spacing(&self) -> Duration {
        self.lock().spacing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_requests_slow_down_and_answers_speed_up_again() {
        let pace = Pace::new(None);
        assert_eq!(pace.spacing(), Duration::ZERO);
        pace.too_many_requests(None);
        assert_eq!(pace.spacing(), MIN_SPACING);
        pace.too_many_requests(None);
        assert_eq!(pace.spacing(), MIN_SPACING * 2);
        for _ in 0..20 {
            pace.too_many_requests(None);
        }
        assert_eq!(pace.spacing(), MAX_SPACING);
        for _ in 0..40 {
            pace.answered();
        }
        assert_eq!(pace.spacing(), Duration::ZERO);
    }

    #[tokio::test]
    async fn the_configured_rate_is_kept() {
        let pace = Pace::new(Some(Rate {
            per_second: 20.0,
            burst: 1,
        }));
        let started = Instant::now();
        for _ in 0..5 {
            pace.wait_turn().await;
        }
        // Five requests at 20/s with no burst: the last one goes ~200 ms after the first.
        assert!(
            started.elapsed() >= Duration::from_millis(190),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn retry_after_holds_every_request() {
        let pace = Pace::new(None);
        pace.too_many_requests(Some(Duration::from_millis(300)));
        let started = Instant::now();
        pace.wait_turn().await;
        assert!(
            started.elapsed() >= Duration::from_millis(290),
            "{:?}",
            started.elapsed()
        );
    }
}
