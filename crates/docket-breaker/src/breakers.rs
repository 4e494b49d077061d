//! This process's view of its remotes' breakers: verdicts from the database, cached briefly.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use docket_core::{now_millis, BreakerPolicy};
use docket_remote::{Health, RemoteError};
use docket_store::prelude::*;
use docket_store::StoreError;

/// How long a verdict read from the database is trusted before it is read again.
const FRESH: Duration = Duration::from_millis(500);

/// Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Breakers {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    policy: BreakerPolicy,
    /// Remote → (down, when read).
    verdicts: Mutex<HashMap<String, (bool, Instant)>>,
    /// Remotes this process saw fail since they last answered: an answer then resets the
    /// count in the database (and only then, so that answers cost no write).
    failed: Mutex<HashSet<String>>,
}

impl Breakers {
    pub fn new(store: Arc<dyn Store>, policy: BreakerPolicy) -> Breakers {
        Breakers {
            inner: Arc::new(Inner {
                store,
                policy,
                verdicts: Mutex::new(HashMap::new()),
                failed: Mutex::new(HashSet::new()),
            }),
        }
    }

    pub fn policy(&self) -> BreakerPolicy {
        self.inner.policy
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Pauses `job_id` with `remote_unavailable` while `remote` is down. Answers false if the
    /// remote is up after all (another process saw it answer): the caller retries instead.
    pub async fn pause_job(&self, job_id: &str, remote: &str) -> Result<bool, StoreError> {
        let paused = self
            .inner
            .store
            .pause_for_remote(job_id, remote, now_millis())
            .await?;
        self.remember(remote, paused);
        Ok(paused)
    }

    /// Forgets the cached verdict on `remote` (the prober just saw it come back).
    pub fn forget(&self, remote: &str) {
        if let Ok(mut verdicts) = self.inner.verdicts.lock() {
            verdicts.remove(remote);
        }
    }

    fn remember(&self, remote: &str, down: bool) {
        if let Ok(mut verdicts) = self.inner.verdicts.lock() {
            verdicts.insert(remote.to_owned(), (down, Instant::now()));
        }
    }

    fn cached(&self, remote: &str) -> Option<bool> {
        let verdicts = self.inner.verdicts.lock().ok()?;
        let fresh = verdicts
            .get(remote)
            .filter(|(_, read)| read.elapsed() < FRESH)
            .map(|(down, _)| *down);
        fresh
    }
}

#[async_trait]
impl Health for Breakers {
    async fn is_down(&self, remote: &str) -> bool {
        if let Some(down) = self.cached(remote) {
            return down;
        }
        match self.inner.store.remote_health().await {
            Ok(all) => {
                let down = all.iter().any(|h| h.name == remote && !h.up);
                self.remember(remote, down);
                down
            }
            // The database is having trouble of its own: let the call find out.
            Err(e) => {
                tracing::warn!(remote, error = %e, "cannot read the remote's health");
                false
            }
        }
    }

    async fn transport_failed(&self, error: &RemoteError) -> bool {
        if let Ok(mut failed) = self.inner.failed.lock() {
            failed.insert(error.remote.clone());
        }
        let recorded = self
            .inner
            .store
            .remote_failed(
                &error.remote,
                &error.detail,
                self.inner.policy,
                now_millis(),
            )
            .await;
        match recorded {
            Ok(health) => {
                if !health.up {
                    tracing::warn!(remote = %error.remote, error = %error.detail, "the remote is down");
                }
                self.remember(&error.remote, !health.up);
                !health.up
            }
            Err(e) => {
                tracing::warn!(remote = %error.remote, error = %e, "cannot record a remote's failure");
                false
            }
        }
    }

    async fn answered(&self, remote: &str) {
        let had_failed = self
            .inner
            .failed
            .lock()
            .map(|mut failed| failed.remove(remote))
            .unwrap_or(false);
        if had_failed {
            if let Err(e) = self.inner.store.remote_answered(remote, now_millis()).await {
                tracing::warn!(remote, error = %e, "cannot record a remote's answer");
            }
        }
    }
}
