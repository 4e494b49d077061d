//! Starts a process's services together, restarts a failed one after a capped exponential
//! backoff, and stops them all on shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::{Service, ServiceContext, ServiceStats, ServicesStatus, StopAt};

/// Delay before restarting a failed service: `base`, doubled per consecutive failure, at most
/// `cap`. A service that completed a round since its last start begins again at `base`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The delay after the `failures`-th consecutive failure (1-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.base
            .saturating_mul(1u32 << doublings)
            .min(self.cap)
            .max(self.base.min(self.cap))
    }
}

struct Entry {
    service: Arc<dyn Service>,
    stats: Arc<ServiceStats>,
}

/// The services of one process. Add them, take [`Supervisor::status`] for `/metrics`, then
/// [`Supervisor::run`].
#[derive(Default)]
pub struct Supervisor {
    backoff: Backoff,
    entries: Vec<Entry>,
}

impl Supervisor {
    pub fn new(backoff: Backoff) -> Supervisor {
        Supervisor {
            backoff,
            entries: Vec::new(),
        }
    }

    /// Adds a service. Names must be unique: a second service of the same name is refused
    /// (logged), as its metrics could not be told apart.
    pub fn add(&mut self, service: Arc<dyn Service>) {
        let name = service.name();
        if self.entries.iter().any(|e| e.service.name() == name) {
            tracing::error!(
                service = name,
                "a service of this name is already added; ignored"
            );
            return;
        }
        self.entries.push(Entry {
            service,
            stats: Arc::new(ServiceStats::new(name)),
        });
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.service.name()).collect()
    }

    /// The live counters of every service added so far.
    pub fn status(&self) -> ServicesStatus {
        ServicesStatus(Arc::new(
            self.entries.iter().map(|e| e.stats.clone()).collect(),
        ))
    }

    /// Runs every service until it is told to stop: at `shutdown`, or at `drained` for those
    /// that ask to outlive the engine's drain. Returns when all have stopped.
    pub async fn run(self, shutdown: CancellationToken, drained: CancellationToken) {
        let tasks: Vec<_> = self
            .entries
            .into_iter()
            .map(|entry| {
                let stop = match entry.service.stop_at() {
                    StopAt::Shutdown => shutdown.clone(),
                    StopAt::Drained => drained.clone(),
                };
                tokio::spawn(supervise(entry, stop, self.backoff))
            })
            .collect();
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!("a service's supervisor task failed: {e}");
            }
        }
    }
}

async fn supervise(entry: Entry, stop: CancellationToken, backoff: Backoff) {
    let Entry { service, stats } = entry;
    let name = service.name();
    let mut failures: u32 = 0;
    loop {
        let runs_before = stats.runs();
        let ctx = ServiceContext {
            shutdown: stop.clone(),
            stats: stats.clone(),
        };
        // Its own task, so a panic is caught here and the service restarted, not lost.
        let run = tokio::spawn({
            let service = service.clone();
            async move { service.run(&ctx).await }
        });
        let message = match run.await {
            Ok(Ok(())) => {
                if !stop.is_cancelled() {
                    tracing::info!(service = name, "service finished before shutdown");
                }
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(e) if e.is_panic() => format!("panicked: {}", panic_message(e.into_panic())),
            Err(e) => format!("its task was cancelled: {e}"),
        };
        stats.record_error(message.clone());
        if stop.is_cancelled() {
            tracing::warn!(service = name, error = %message, "service failed while stopping");
            return;
        }
        if stats.runs() > runs_before {
            failures = 0;
        }
        failures += 1;
        let delay = backoff.delay(failures);
        tracing::warn!(service = name, error = %message, ?delay, "service failed; restarting it after a backoff");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.cancelled() => return,
        }
        stats.record_restart();
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1_000),
        };
        let delays: Vec<u128> = (1..=6).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(b.delay(u32::MAX).as_millis(), 1_000);
    }
}
