//! The items this process holds (claimed, queued locally, running, or finished but not yet
//! written), and per-job signals. The heartbeat renews exactly these leases.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use docket_store::{Claimed, ProgressUpdate};
use tokio_util::sync::CancellationToken;

use crate::handler::{JobSignal, ProgressCell};

pub(crate) struct HeldItem {
    pub job_id: String,
    pub progress: Arc<ProgressCell>,
    /// Fires when the item must stop: its job was cancelled or its lease was lost.
    pub stop: CancellationToken,
}

#[derive(Default)]
pub(crate) struct Registry {
    items: Mutex<HashMap<i64, HeldItem>>,
    jobs: Mutex<HashMap<String, (Arc<JobSignal>, usize)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Registry {
    pub fn hold(&self, item: &Claimed) {
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
        };
        lock(&self.items).insert(item.item_id, held);
    }

    /// What a worker needs to run a held item.
    pub fn lookup(
        &self,
        item_id: i64,
    ) -> Option<(Arc<ProgressCell>, CancellationToken, Arc<JobSignal>)> {
        let items = lock(&self.items);
        let held = items.get(&item_id)?;
        let jobs = lock(&self.jobs);
        let (signal, _) = jobs.get(&held.job_id)?;
        Some((held.progress.clone(), held.stop.clone(), signal.clone()))
    }

    pub fn release(&self, ids: impl IntoIterator<Item = i64>) {
        let mut items = lock(&self.items);
        let mut jobs = lock(&self.jobs);
        for id in ids {
            if let Some(held) = items.remove(&id) {
                if let Some(entry) = jobs.get_mut(&held.job_id) {
                    entry.1 -= 1;
                    if entry.1 == 0 {
                        jobs.remove(&held.job_id);
                    }
                }
            }
        }
    }

    pub fn snapshot(&self) -> Vec<ProgressUpdate> {
        lock(&self.items)
            .iter()
            .map(|(id, h)| {
                let (stage, progress) = h.progress.get();
                ProgressUpdate {
                    item_id: *id,
                    stage,
                    progress,
                }
            })
            .collect()
    }

    /// Stops the items that the database says this worker no longer holds.
    pub fn stop_lost(&self, asked: &[ProgressUpdate], still_held: &HashSet<i64>) -> usize {
        let items = lock(&self.items);
        let mut n = 0;
        for u in asked {
            if !still_held.contains(&u.item_id) {
                if let Some(h) = items.get(&u.item_id) {
                    h.stop.cancel();
                    n += 1;
                }
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
