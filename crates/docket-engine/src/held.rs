//! The items this process holds (claimed, queued locally, running, or finished but not yet
//! written), and per-job signals. The heartbeat renews exactly these leases.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use docket_store::{Claimed, ProgressUpdate};
use tokio_util::sync::CancellationToken;

use crate::handler::{JobSignal, ProgressCell};

pub(crate) struct HeldItem {
    pub job_id: String,
    pub progress: Arc<ProgressCell>,
    /// Fires when the item must stop: its job was cancelled or its lease was lost.
    pub stop: CancellationToken,
    /// A worker picked it up (until then it waits in the local queue).
    pub started: AtomicBool,
    /// What the database last heard of this claim: the claim itself, then each heartbeat
    /// that wrote it (read and written under the registry's lock, like the rest).
    pub reported: Reported,
}

/// The progress a heartbeat last wrote for a claim, and the lease it set.
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct Reported {
    pub stage: docket_core::Stage,
    pub progress: f64,
    pub started: bool,
    pub lease_until: docket_core::Millis,
}

/// An item claim: the item and its attempt number. The same item can be claimed again by this
/// process (after its lease expired and it was rescued) while the old claim is still being
/// written; keying by attempt keeps the two apart.
pub(crate) type ClaimKey = (i64, u32);

#[derive(Default)]
pub(crate) struct Registry {
    items: Mutex<HashMap<ClaimKey, HeldItem>>,
    jobs: Mutex<HashMap<String, (Arc<JobSignal>, usize)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Registry {
    /// Holds a claim whose lease runs until `lease_until`.
    pub fn hold(&self, item: &Claimed, lease_until: docket_core::Millis) {
        let signal = {
            let mut jobs = lock(&self.jobs);
            let entry = jobs
                .entry(item.job_id.clone())
                .or_insert_with(|| (Arc::new(JobSignal::default()), 0));
            entry.1 += 1;
            entry.0.clone()
        };
        let held = HeldItem {
            job_id: item.job_id.clone(),
            progress: Arc::new(ProgressCell::new(item.stage)),
            stop: signal.cancel.child_token(),
            started: AtomicBool::new(false),
            // The claim left the item's stage as it was and cleared `started`; the progress
            // shown until the item starts is the one it already had.
            reported: Reported {
                stage: item.stage,
                progress: item.stage.progress(),
                started: false,
                lease_until,
            },
        };
        if let Some(old) = lock(&self.items).insert((item.item_id, item.attempts), held) {
            // Cannot happen (attempts grow with every claim); keep the job count right anyway.
            self.unref_job(&old.job_id);
        }
    }

    /// What a worker needs to run a held item.
    pub fn lookup(
        &self,
        key: ClaimKey,
    ) -> Option<(Arc<ProgressCell>, CancellationToken, Arc<JobSignal>)> {
        let items = lock(&self.items);
        let held = items.get(&key)?;
        let jobs = lock(&self.jobs);
        let (signal, _) = jobs.get(&held.job_id)?;
        Some((held.progress.clone(), held.stop.clone(), signal.clone()))
    }

    /// A worker starts running a held item: heartbeats report it as started from now on.
    pub fn mark_started(&self, key: ClaimKey) {
        if let Some(held) = lock(&self.items).get(&key) {
            held.started.store(true, Ordering::Release);
        }
    }

    fn unref_job(&self, job_id: &str) {
        let mut jobs = lock(&self.jobs);
        if let Some(entry) = jobs.get_mut(job_id) {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                jobs.remove(job_id);
            }
        }
    }

    /// Claims held: queued, running, or finished with their outcome not yet written.
    pub fn len(&self) -> usize {
        lock(&self.items).len()
    }

    pub fn release(&self, keys: impl IntoIterator<Item = ClaimKey>) {
        let removed: Vec<HeldItem> = {
            let mut items = lock(&self.items);
            keys.into_iter().filter_map(|k| items.remove(&k)).collect()
        };
        for held in removed {
            self.unref_job(&held.job_id);
        }
    }

    /// What the next heartbeat must write: the claims whose stage, progress or start changed
    /// since the database last heard of them, and those whose lease ends before `renew_by`.
    /// The rest are left alone: a heartbeat that rewrote every prefetched item each time an
    /// item started cost a row write per held item per second.
    pub fn due(&self, renew_by: docket_core::Millis) -> Vec<ProgressUpdate> {
        // One update per item: the newest claim of an item speaks for it.
        let items = lock(&self.items);
        let mut newest: HashMap<i64, (u32, &HeldItem)> = HashMap::new();
        for ((id, attempt), h) in items.iter() {
            let slot = newest.entry(*id).or_insert((*attempt, h));
            if *attempt > slot.0 {
                *slot = (*attempt, h);
            }
        }
        newest
            .into_iter()
            .filter_map(|(item_id, (_, h))| {
                let (stage, progress) = h.progress.get();
                let started = h.started.load(Ordering::Acquire);
                let reported = h.reported;
                let changed = (reported.stage, reported.progress, reported.started)
                    != (stage, progress, started);
                (changed || reported.lease_until < renew_by).then_some(ProgressUpdate {
                    item_id,
                    stage,
                    progress,
                    started,
                })
            })
            .collect()
    }

    /// A heartbeat wrote these updates, with leases until `lease_until`.
    pub fn reported(&self, written: &[ProgressUpdate], lease_until: docket_core::Millis) {
        let by_id: HashMap<i64, &ProgressUpdate> = written.iter().map(|u| (u.item_id, u)).collect();
        let mut items = lock(&self.items);
        for ((id, _), h) in items.iter_mut() {
            if let Some(u) = by_id.get(id) {
                h.reported = Reported {
                    stage: u.stage,
                    progress: u.progress,
                    started: u.started,
                    lease_until,
                };
            }
        }
    }

    /// Stops the items that the database says this worker no longer holds.
    pub fn stop_lost(&self, asked: &[ProgressUpdate], still_held: &HashSet<i64>) -> usize {
        let asked: HashSet<i64> = asked.iter().map(|u| u.item_id).collect();
        let items = lock(&self.items);
        let mut n = 0;
        for ((id, _), h) in items.iter() {
            if asked.contains(id) && !still_held.contains(id) {
                h.stop.cancel();
                n += 1;
            }
        }
        n
    }

    pub fn job_ids(&self) -> Vec<String> {
        lock(&self.jobs).keys().cloned().collect()
    }

    pub fn signal(&self, job_id: &str) -> Option<Arc<JobSignal>> {
        lock(&self.jobs).get(job_id).map(|(s, _)| s.clone())
    }
}
