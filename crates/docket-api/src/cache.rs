//! A short-lived cache of job snapshots. Dashboards and scripts poll job status many times a
//! second; serving those polls from memory for [`JobCache::TTL`] keeps them off the database
//! (a status is at most that stale, well under the engine's own reporting granularity).
//! Control actions through this process refresh the entry at once, so a client that pauses a
//! job and then reads it sees the new state.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use docket_core::Job;

#[derive(Default)]
pub struct JobCache {
    entries: Mutex<HashMap<String, (Job, Instant)>>,
}

impl JobCache {
    pub const TTL: Duration = Duration::from_millis(100);
    const MAX_ENTRIES: usize = 10_000;

    pub fn get(&self, id: &str) -> Option<Job> {
        let entries = self.entries.lock().ok()?;
        let (job, at) = entries.get(id)?;
        (at.elapsed() < Self::TTL).then(|| job.clone())
    }

    pub fn put(&self, job: &Job) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            }
            entries.insert(job.id.clone(), (job.clone(), Instant::now()));
        }
    }

    pub fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(id);
        }
    }
}
