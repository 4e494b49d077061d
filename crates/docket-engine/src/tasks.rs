//! The engine's background duties: writing outcomes in batches, renewing leases, watching for
//! pause/cancel. Rescue, deadlines and retention are services (`services/`).

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use docket_core::{now_millis, JobState};
use docket_store::Completion;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::Shared;

/// Collects outcomes and writes them in one transaction per batch. A failed write is retried
/// (with backoff) until it lands: finished work is never dropped because the database blinked.
pub(crate) async fn complete_loop(
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<(Completion, u32)>,
) {
    let c = &shared.config;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + c.flush_every;
        while batch.len() < c.flush_max {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(done)) => batch.push(done),
                Ok(None) | Err(_) => break,
            }
        }
        let keys: Vec<(i64, u32)> = batch
            .iter()
            .map(|(d, attempt)| (d.item_id, *attempt))
            .collect();
        let batch: Vec<Completion> = batch.into_iter().map(|(d, _)| d).collect();
        // Only a failure can have asked for an (auto-)pause that this process must see now;
        // user pauses and cancels reach it through the control loop's own polling.
        let may_pause = batch
            .iter()
            .any(|d| matches!(d.target, docket_core::ItemTarget::Failed { .. }));
        // Held while outcomes are written and released: a heartbeat in between would take the
        // just-finished items for lost ones.
        let _writing = shared.writing.lock().await;
        write_outcomes(&shared, batch).await;
        shared.registry.release(keys);
        // A job may have finished or paused; others may now have room under max_workers; the
        // dispatcher may hold more claims again.
        shared.wake.notify_one();
        shared.drained.notify_one();
        if may_pause {
            shared.check_controls.notify_one();
        }
    }
}

/// Writes one batch. Transient failures (the database is down or busy) are retried until the
/// write lands. Any other failure is a bug somewhere; rather than wedge every outcome behind
/// it, the batch is written one item at a time and an item that still fails is left to its
/// lease (it will be taken back and retried).
async fn write_outcomes(shared: &Shared, batch: Vec<Completion>) {
    let worker = &shared.config.worker_id;
    let mut failures: u32 = 0;
    loop {
        match shared
            .store
            .complete(worker, batch.clone(), now_millis())
            .await
        {
            Ok(report) => {
                shared
                    .metrics
                    .lost
                    .fetch_add(report.lost as u64, std::sync::atomic::Ordering::Relaxed);
                if report.lost > 0 {
                    tracing::info!(
                        lost = report.lost,
                        "outcomes of items taken over by another worker were dropped"
                    );
                }
                return;
            }
            Err(e) if e.is_transient() => {
                failures += 1;
                let backoff = Duration::from_millis((100u64 << failures.min(6)).min(5_000));
                tracing::warn!(error = %e, ?backoff, items = batch.len(), "writing outcomes failed; retrying");
                tokio::time::sleep(backoff).await;
            }
            Err(e) => {
                tracing::error!(error = %e, items = batch.len(), "writing outcomes failed; writing them one by one");
                break;
            }
        }
    }
    for one in batch {
        let item = one.item_id;
        if let Err(e) = shared.store.complete(worker, vec![one], now_millis()).await {
            tracing::error!(item, error = %e, "an outcome could not be written; the item's lease will expire and it will run again");
        }
    }
}

/// How soon after an item starts the heartbeat reports it (so `current_items` follows the
/// workers), and so at most how often starts cause a heartbeat of their own.
const STARTS_REPORTED_WITHIN: Duration = Duration::from_secs(1);

/// A lease is renewed once less than this is left of it: once it is half a heartbeat
/// period old. So a lease is never renewed by the heartbeat right after its claim, and at
/// worst is renewed with `lease - 1.5 × heartbeat_every` left (15 s of 30 by default).
fn renew_within(c: &crate::EngineConfig) -> Duration {
    c.lease.saturating_sub(c.heartbeat_every / 2)
}

pub(crate) async fn heartbeat_loop(shared: Arc<Shared>, stop: CancellationToken) {
    let c = &shared.config;
    let mut last = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(c.heartbeat_every.saturating_sub(last.elapsed())) => {}
            _ = shared.items_started.notified() => {
                let wait = STARTS_REPORTED_WITHIN.min(c.heartbeat_every);
                tokio::select! {
                    _ = tokio::time::sleep(wait.saturating_sub(last.elapsed())) => {}
                    _ = stop.cancelled() => return,
                }
            }
            _ = stop.cancelled() => return,
        }
        last = Instant::now();
        let _writing = shared.writing.lock().await;
        let now = now_millis();
        let held = shared
            .registry
            .due(now + renew_within(c).as_millis() as i64);
        if held.is_empty() {
            continue;
        }
        let lease_until = now + c.lease.as_millis() as i64;
        match shared
            .store
            .heartbeat(&c.worker_id, &held, lease_until, now)
            .await
        {
            Ok(still) => {
                shared.registry.reported(&held, lease_until);
                let still: HashSet<i64> = still.into_iter().collect();
                let lost = shared.registry.stop_lost(&held, &still);
                if lost > 0 {
                    tracing::warn!(lost, "leases lost (another worker took these items over)");
                }
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat failed; leases may expire"),
        }
    }
}

/// Mirrors the database's pause and cancel decisions onto the items running here.
pub(crate) async fn control_loop(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(shared.config.control_every) => {}
            _ = shared.check_controls.notified() => {}
            _ = stop.cancelled() => return,
        }
        let ids = shared.registry.job_ids();
        if ids.is_empty() {
            continue;
        }
        let controls = match shared.store.job_controls(&ids).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "reading job controls failed");
                continue;
            }
        };
        let known: HashSet<&str> = controls.iter().map(|c| c.id.as_str()).collect();
        for id in &ids {
            if !known.contains(id.as_str()) {
                // Deleted under us.
                if let Some(signal) = shared.registry.signal(id) {
                    signal.cancel.cancel();
                }
            }
        }
        for control in controls {
            let Some(signal) = shared.registry.signal(&control.id) else {
                continue;
            };
            if control.state.is_finished() {
                signal.cancel.cancel();
            }
            let pausing = control.pause_requested || control.state == JobState::Paused;
            signal.pausing.store(pausing, Ordering::Release);
        }
    }
}
