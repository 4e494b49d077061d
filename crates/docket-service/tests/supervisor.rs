//! The supervisor with real services on a real runtime: restart with backoff, counting, stop.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use docket_service::{
    Backoff, Pace, Periodic, Service, ServiceContext, ServiceError, ServicesStatus, StopAt,
    Supervisor, Ticking,
};
use tokio_util::sync::CancellationToken;

/// Fails its first `fail` starts (the last of them by panicking), then runs rounds until
/// stopped. Records when each start happened.
struct Flaky {
    fail: u32,
    starts: Mutex<Vec<Instant>>,
}

#[async_trait]
impl Service for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    async fn run(&self, ctx: &ServiceContext) -> Result<(), ServiceError> {
        let start = {
            let mut starts = self
                .starts
                .lock()
                .map_err(|e| ServiceError(e.to_string()))?;
            starts.push(Instant::now());
            starts.len() as u32
        };
        if start < self.fail {
            return Err(ServiceError(format!("start {start} failed")));
        }
        if start == self.fail {
            panic!("start {start} panicked");
        }
        loop {
            ctx.ran();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                _ = ctx.shutdown.cancelled() => return Ok(()),
            }
        }
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn backoff() -> Backoff {
    Backoff {
        base: Duration::from_millis(50),
        cap: Duration::from_millis(200),
    }
}

#[tokio::test]
async fn a_failing_service_is_restarted_with_backoff_and_its_errors_counted() {
    let flaky = Arc::new(Flaky {
        fail: 4,
        starts: Mutex::new(Vec::new()),
    });
    let mut supervisor = Supervisor::new(backoff());
    supervisor.add(flaky.clone());
    let status: ServicesStatus = supervisor.status();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(supervisor.run(shutdown.clone(), shutdown.clone()));

    let stats = || status.get("flaky").expect("flaky is supervised");
    wait_for("the service to run after its failures", || {
        stats().runs() >= 3
    })
    .await;
    assert_eq!(stats().errors(), 4, "three errors and one panic");
    assert_eq!(stats().restarts(), 4);
    let last = stats().last_error().unwrap_or_default();
    assert!(last.contains("panicked: start 4 panicked"), "{last}");
    assert!(stats().last_run_ms().is_some());

    // The pauses between starts follow the backoff: 50, 100, 200, then capped at 200 ms.
    let starts = flaky.starts.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(starts.len(), 5);
    for (gap, least) in starts.windows(2).zip([50u64, 100, 200, 200]) {
        let gap = gap[1].duration_since(gap[0]);
        assert!(gap >= Duration::from_millis(least), "{gap:?} < {least} ms");
        assert!(gap < Duration::from_millis(least + 1_000), "{gap:?}");
    }

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the supervisor stops on shutdown")
        .expect("supervisor task");
    assert_eq!(flaky.starts.lock().map(|s| s.len()).unwrap_or(0), 5);
}

/// Counts its rounds; a round fails while `failing` is set.
#[derive(Clone)]
struct Rounds {
    rounds: Arc<AtomicU32>,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait]
impl Periodic for Rounds {
    fn name(&self) -> &'static str {
        "rounds"
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(10)
    }

    fn stop_at(&self) -> StopAt {
        StopAt::Drained
    }

    async fn tick(&self) -> Result<Pace, ServiceError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(ServiceError("the database is down".into()));
        }
        self.rounds.fetch_add(1, Ordering::SeqCst);
        Ok(Pace::Idle)
    }
}

#[tokio::test]
async fn periodic_services_stop_when_told_and_not_before() {
    let rounds = Rounds {
        rounds: Arc::new(AtomicU32::new(0)),
        failing: Arc::new(true.into()),
    };
    let mut supervisor = Supervisor::new(backoff());
    supervisor.add(Arc::new(Ticking(rounds.clone())));
    supervisor.add(Arc::new(Flaky {
        fail: 0,
        starts: Mutex::new(Vec::new()),
    }));
    let status = supervisor.status();
    let (shutdown, drained) = (CancellationToken::new(), CancellationToken::new());
    let task = tokio::spawn(supervisor.run(shutdown.clone(), drained.clone()));

    let stats = |name| status.get(name).expect("supervised");
    wait_for("a failed round to be counted", || {
        stats("rounds").errors() >= 2
    })
    .await;
    assert_eq!(stats("rounds").runs(), 0);
    rounds.failing.store(false, Ordering::SeqCst);
    wait_for("rounds after recovery", || stats("rounds").runs() >= 3).await;

    // Shutdown stops `flaky`; `rounds` waits for the drain.
    shutdown.cancel();
    // A round already under way when shutdown came may still finish; none starts after it.
    let at_most = stats("flaky").runs() + 1;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let flaky_runs = stats("flaky").runs();
    assert!(flaky_runs <= at_most, "flaky ran on after shutdown");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        stats("flaky").runs(),
        flaky_runs,
        "flaky stopped at shutdown"
    );
    let before = stats("rounds").runs();
    wait_for("rounds to go on until drained", || {
        stats("rounds").runs() > before
    })
    .await;
    assert!(!task.is_finished());

    drained.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("every service stops")
        .expect("supervisor task");
    let after = stats("rounds").runs();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(stats("rounds").runs(), after, "no round after stopping");
}
