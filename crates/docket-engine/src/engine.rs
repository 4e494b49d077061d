use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docket_core::{decide, now_millis, ItemTarget, JobKind, Outcome, Stage};
use docket_service::{Backoff, Service, Supervisor};
use docket_store::prelude::*;
use docket_store::{Claimed, Completion};
use futures::FutureExt;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::handler::{Handler, HandlerError, ItemContext};
use crate::held::Registry;
use crate::services::{self, Duties};
use crate::{tasks, EngineConfig, EngineError, EngineMetrics, JobCleanup, Lister};

/// A worker pool bound to a store. Build it, add handlers, then [`Engine::run`] it.
pub struct Engine {
    store: Arc<dyn Store>,
    handlers: HashMap<JobKind, Arc<dyn Handler>>,
    listers: HashMap<JobKind, Arc<dyn Lister>>,
    cleanup: Option<Arc<dyn JobCleanup>>,
    config: EngineConfig,
    wake: Arc<Notify>,
    metrics: Arc<EngineMetrics>,
    /// Set once the background services were handed to a process's supervisor.
    services_taken: bool,
}

/// Wakes an idle engine at once (new job, resume) instead of at its next poll.
#[derive(Clone)]
pub struct EngineHandle {
    wake: Arc<Notify>,
}

impl EngineHandle {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// The kinds present in a registry, in a fixed order (so every claim sends the same list).
fn kinds_of<T: ?Sized>(registry: &HashMap<JobKind, Arc<T>>) -> Vec<JobKind> {
    JobKind::ALL
        .iter()
        .copied()
        .filter(|k| registry.contains_key(k))
        .collect()
}

pub(crate) struct Shared {
    pub store: Arc<dyn Store>,
    pub handlers: HashMap<JobKind, Arc<dyn Handler>>,
    /// The kinds this process has handlers for: the only ones it claims items of.
    pub handler_kinds: Vec<JobKind>,
    pub metrics: Arc<EngineMetrics>,
    pub config: EngineConfig,
    pub registry: Registry,
    pub wake: Arc<Notify>,
    /// Wakes the dispatcher when the local queue has room again.
    pub drained: Notify,
    /// Serialises writing outcomes with heartbeats (see the completer).
    pub writing: tokio::sync::Mutex<()>,
    /// Asks the control loop to look at job states now (after outcomes were written).
    pub check_controls: Notify,
    /// Asks the heartbeat to report soon: items started (so they show as current).
    pub items_started: Notify,
    /// Set on graceful shutdown: nothing new starts, running items stop at a stage boundary.
    pub draining: Arc<AtomicBool>,
    /// Fired when the shutdown grace is over: running items are handed back as they are.
    pub abort: CancellationToken,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, config: EngineConfig) -> Engine {
        Engine {
            store,
            handlers: HashMap::new(),
            listers: HashMap::new(),
            cleanup: None,
            config,
            wake: Arc::new(Notify::new()),
            metrics: Arc::new(EngineMetrics::default()),
            services_taken: false,
        }
    }

    pub fn with_handler(mut self, kind: JobKind, handler: Arc<dyn Handler>) -> Engine {
        self.handlers.insert(kind, handler);
        self
    }

    /// Lists the items of `kind` jobs submitted with a source instead of items.
    pub fn with_lister(mut self, kind: JobKind, lister: Arc<dyn Lister>) -> Engine {
        self.listers.insert(kind, lister);
        self
    }

    /// Called for every job that retention deletes.
    pub fn with_cleanup(mut self, cleanup: Arc<dyn JobCleanup>) -> Engine {
        self.cleanup = Some(cleanup);
        self
    }

    /// Counters of what this engine did, for `/metrics`.
    pub fn metrics(&self) -> Arc<EngineMetrics> {
        self.metrics.clone()
    }

    /// The job kinds this engine has handlers for.
    pub fn kinds(&self) -> Vec<JobKind> {
        kinds_of(&self.handlers)
    }

    /// The engine's background services (`rescuer`, `deadline_watcher`, `retention_cleaner`
    /// if retention is on, `lister`), for the process's supervisor to run; [`Engine::run`]
    /// then no longer runs them itself. Call it after every handler, lister and cleanup is
    /// added: the services see the engine as it is now.
    pub fn take_services(&mut self) -> Vec<Arc<dyn Service>> {
        self.services_taken = true;
        services::all(self.duties())
    }

    fn duties(&self) -> Arc<Duties> {
        Arc::new(Duties {
            store: self.store.clone(),
            config: self.config.clone(),
            wake: self.wake.clone(),
            metrics: self.metrics.clone(),
            cleanup: self.cleanup.clone(),
            lister_kinds: kinds_of(&self.listers),
            listers: self.listers.clone(),
        })
    }

    pub fn handle(&self) -> EngineHandle {
        EngineHandle {
            wake: self.wake.clone(),
        }
    }

    /// Runs until `shutdown` fires, then stops gracefully: no new items start, running ones
    /// finish their stage (or are handed back after the grace period), and every outcome is
    /// written before this returns.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), EngineError> {
        self.config.validate()?;
        let handler_kinds = kinds_of(&self.handlers);
        // An engine on its own (tests, the benchmark) runs its services itself, under a
        // supervisor of its own, stopped when the engine has drained.
        let own_services = (!self.services_taken).then(|| {
            let mut supervisor = Supervisor::new(Backoff::default());
            for service in services::all(self.duties()) {
                supervisor.add(service);
            }
            supervisor
        });
        let shared = Arc::new(Shared {
            store: self.store,
            handler_kinds,
            handlers: self.handlers,
            metrics: self.metrics,
            registry: Registry::default(),
            wake: self.wake,
            drained: Notify::new(),
            check_controls: Notify::new(),
            items_started: Notify::new(),
            writing: tokio::sync::Mutex::new(()),
            draining: Arc::new(AtomicBool::new(false)),
            abort: CancellationToken::new(),
            config: self.config,
        });
        let (done_tx, done_rx) = mpsc::unbounded_channel::<(Completion, u32)>();
        let (work_tx, work_rx) = async_channel::bounded::<Claimed>(shared.config.prefetch.max(1));
        let background = CancellationToken::new();

        match shared.store.work_signal().await {
            Ok(Some(signal)) => {
                let (wake, stop) = (shared.wake.clone(), background.clone());
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            _ = signal.notified() => wake.notify_one(),
                            _ = stop.cancelled() => return,
                        }
                    }
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "no work notifications; polling instead"),
        }
        let completer = tokio::spawn(tasks::complete_loop(shared.clone(), done_rx));
        let heartbeat = tokio::spawn(tasks::heartbeat_loop(shared.clone(), background.clone()));
        let control = tokio::spawn(tasks::control_loop(shared.clone(), background.clone()));
        let services =
            own_services.map(|s| tokio::spawn(s.run(shutdown.clone(), background.clone())));
        let mut workers = Vec::with_capacity(shared.config.workers);
        for _ in 0..shared.config.workers {
            workers.push(tokio::spawn(worker_loop(
                shared.clone(),
                work_rx.clone(),
                done_tx.clone(),
            )));
        }
        drop(done_tx);
        drop(work_rx);

        dispatch_loop(&shared, &work_tx, &shutdown).await;

        // Graceful stop: queued items are handed back by the workers, running ones get the
        // grace period to reach a stage boundary.
        shared.draining.store(true, Ordering::Release);
        work_tx.close();
        let all_workers = futures_join(workers);
        tokio::pin!(all_workers);
        if tokio::time::timeout(shared.config.shutdown_grace, &mut all_workers)
            .await
            .is_err()
        {
            tracing::warn!("shutdown grace over: handing back the items still running");
            shared.abort.cancel();
            all_workers.await;
        }
        // Workers are gone, so the completion channel closes and the completer drains it.
        if let Err(e) = completer.await {
            tracing::error!("completer task failed: {e}");
        }
        background.cancel();
        for t in [heartbeat, control].into_iter().chain(services) {
            let _ = t.await;
        }
        Ok(())
    }
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        if let Err(e) = h.await {
            tracing::error!("worker task failed: {e}");
        }
    }
}

async fn dispatch_loop(
    shared: &Arc<Shared>,
    work_tx: &async_channel::Sender<Claimed>,
    shutdown: &CancellationToken,
) {
    let c = &shared.config;
    let capacity = c.prefetch.max(1);
    let mut failures: u32 = 0;
    while !shutdown.is_cancelled() {
        let want = claim_room(c, work_tx.len(), shared.registry.len());
        // Claim in worthwhile batches: wait until the local queue has drained by half.
        if want == 0 || (want < capacity.min(c.claim_batch) / 2 && !work_tx.is_empty()) {
            tokio::select! {
                _ = shared.drained.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = shutdown.cancelled() => {}
            }
            continue;
        }
        let now = now_millis();
        let lease_until = now + c.lease.as_millis() as i64;
        match shared
            .store
            .claim(&c.worker_id, &shared.handler_kinds, want, lease_until, now)
            .await
        {
            Ok(items) if !items.is_empty() => {
                failures = 0;
                for item in items {
                    shared.registry.hold(&item, lease_until);
                    // Room was checked above and only this task sends, so this never waits long.
                    if work_tx.send(item).await.is_err() {
                        return;
                    }
                }
            }
            Ok(_) => {
                failures = 0;
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = tokio::time::sleep(c.idle_poll) => {}
                    _ = shutdown.cancelled() => {}
                }
            }
            Err(e) => {
                // The database is down or busy: progress pauses and the claim is retried.
                failures += 1;
                let backoff = Duration::from_millis((100u64 << failures.min(6)).min(5_000));
                tracing::warn!(error = %e, ?backoff, "claim failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => {}
                }
            }
        }
    }
}

/// How many items the next claim may take, with `queued` items in the local queue and `held`
/// claims in all. Claims held at once are bounded whatever their stage (queued, running, or
/// finished with the outcome not yet written): without that bound a claim quicker than the
/// writing of outcomes takes ever more items, each a lease the heartbeat must renew.
fn claim_room(c: &EngineConfig, queued: usize, held: usize) -> usize {
    let capacity = c.prefetch.max(1);
    let hold_at_most = capacity + c.workers + c.flush_max.max(1);
    capacity
        .saturating_sub(queued)
        .min(hold_at_most.saturating_sub(held))
        .min(c.claim_batch)
}

async fn worker_loop(
    shared: Arc<Shared>,
    work_rx: async_channel::Receiver<Claimed>,
    done_tx: mpsc::UnboundedSender<(Completion, u32)>,
) {
    let half = shared.config.prefetch / 2;
    while let Ok(item) = work_rx.recv().await {
        if work_rx.len() <= half {
            shared.drained.notify_one();
        }
        let (outcome, reached) = run_item(&shared, &item).await;
        let mut target = decide(
            outcome,
            item.attempts,
            item.max_retries,
            &shared.config.retry,
            now_millis(),
        );
        // A failed item shows the stage it failed in (loading, extracting, …), not `queued`.
        if let ItemTarget::Failed { stage, .. } = &mut target {
            *stage = Some(reached);
        }
        shared.metrics.count(&target);
        let completion = Completion {
            item_id: item.item_id,
            job_id: item.job_id,
            attempt: item.attempts,
            target,
        };
        if done_tx.send((completion, item.attempts)).is_err() {
            tracing::error!("completer is gone; outcome dropped, the lease will expire");
        }
    }
}

/// Runs one item; answers its outcome and the stage it reached (where a failure happened).
async fn run_item(shared: &Arc<Shared>, item: &Claimed) -> (Outcome, Stage) {
    let Some((progress, _, _)) = shared.registry.lookup((item.item_id, item.attempts)) else {
        return (attempt(shared, item).await, item.stage);
    };
    let outcome = attempt(shared, item).await;
    (outcome, progress.get().0)
}

async fn attempt(shared: &Arc<Shared>, item: &Claimed) -> Outcome {
    let Some((progress, stop, job)) = shared.registry.lookup((item.item_id, item.attempts)) else {
        // Not tracked (should not happen): hand it back untouched rather than drop it.
        return Outcome::Interrupted {
            stage: item.stage,
            progress: item.stage.progress(),
            checkpoint: item.checkpoint.clone(),
        };
    };
    let hand_back = || Outcome::Interrupted {
        stage: item.stage,
        progress: item.stage.progress(),
        checkpoint: item.checkpoint.clone(),
    };
    if job.cancel.is_cancelled() || stop.is_cancelled() {
        return Outcome::Cancelled;
    }
    if job.pausing.load(Ordering::Acquire) || shared.draining.load(Ordering::Acquire) {
        return hand_back();
    }
    let Some(handler) = shared.handlers.get(&item.kind).cloned() else {
        return Outcome::Failed {
            message: format!("this worker has no handler for `{}` jobs", item.kind),
            transient: false,
        };
    };
    shared.registry.mark_started((item.item_id, item.attempts));
    shared.items_started.notify_one();
    let ctx = Arc::new(ItemContext {
        item: item.clone(),
        progress,
        checkpoint: Mutex::new(None),
        stopped_before: Mutex::new(None),
        job,
        draining: shared.draining.clone(),
        metrics: shared.metrics.clone(),
        store: shared.store.clone(),
        worker: shared.config.worker_id.clone(),
        stage_clock: Mutex::new(None),
    });
    // The handler runs in this worker's task, its panics caught and its future dropped on a
    // stop or timeout (as an abort would): a task of its own per item cost a spawn and a
    // cross-thread wake-up each, a large share of a quick item's time.
    let run = AssertUnwindSafe(handler.run(&ctx)).catch_unwind();
    let timeout = Duration::from_millis(item.timeout_ms.max(1) as u64);
    let outcome = tokio::select! {
        // Polled first, so an item that finishes at once never arms the timer.
        biased;
        finished = run => match finished {
            Ok(Ok(output)) => Outcome::Succeeded { output },
            Ok(Err(HandlerError::Transient(message))) => Outcome::Failed { message, transient: true },
            Ok(Err(HandlerError::Permanent(message))) => Outcome::Failed { message, transient: false },
            Ok(Err(HandlerError::Interrupted)) => ctx.interrupted(),
            Err(panic) => Outcome::Failed {
                message: format!("the handler crashed: {}", panic_message(panic)),
                transient: false,
            },
        },
        _ = stop.cancelled() => Outcome::Cancelled,
        _ = shared.abort.cancelled() => ctx.interrupted(),
        _ = tokio::time::sleep(timeout) => Outcome::Failed {
            message: format!("timed out after {} s", timeout.as_secs_f64()),
            transient: true,
        },
    };
    match &outcome {
        Outcome::Succeeded { .. } => ctx.clock_stage(None),
        Outcome::Failed { .. } => ctx.clock_failure(),
        _ => {}
    }
    outcome
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EngineConfig {
        EngineConfig {
            workers: 2,
            prefetch: 100,
            claim_batch: 40,
            flush_max: 50,
            ..EngineConfig::default()
        }
    }

    #[test]
    fn a_claim_fills_the_local_queue_in_batches() {
        assert_eq!(claim_room(&config(), 0, 0), 40);
        assert_eq!(claim_room(&config(), 80, 82), 20);
        assert_eq!(claim_room(&config(), 100, 102), 0);
    }

    #[test]
    fn outcomes_waiting_to_be_written_hold_back_the_next_claim() {
        // An empty queue, two items running and outcomes of 130 items not yet written: at
        // most 100 + 2 + 50 claims are held at once.
        assert_eq!(claim_room(&config(), 0, 132), 20);
        assert_eq!(claim_room(&config(), 0, 152), 0);
        assert_eq!(claim_room(&config(), 0, 500), 0);
    }
}
