//! `remote_prober`: asks each down remote, with backoff, whether it answers again, and
//! resumes the jobs that paused for it when it does. Every process may run it: each due
//! probe is taken in the database by exactly one of them.

use std::time::Duration;

use async_trait::async_trait;
use docket_core::now_millis;
use docket_service::{Pace, Periodic, ServiceError};

use crate::Breakers;

/// How a remote is probed: any HTTP answer from `url` means it is reachable again. The URL
/// carries no credential (a key goes in no probe), and is never shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub remote: String,
    pub url: String,
}

pub struct Prober {
    breakers: Breakers,
    probes: Vec<Probe>,
    client: reqwest::Client,
}

/// Longest a probe waits for an answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl Prober {
    pub fn new(breakers: Breakers, probes: Vec<Probe>) -> Result<Prober, ServiceError> {
        let client = reqwest::Client::builder()
            .timeout(PROBE_TIMEOUT)
            .connect_timeout(PROBE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServiceError::of("building the probe client", e.without_url()))?;
        Ok(Prober {
            breakers,
            probes,
            client,
        })
    }

    /// Probes `probe` once: `Ok` if it answered, else what went wrong (without the URL).
    async fn ask(&self, probe: &Probe) -> Result<(), String> {
        match self.client.get(&probe.url).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let mut text = if e.is_timeout() {
                    "probe timed out".to_owned()
                } else if e.is_connect() {
                    "probe: cannot connect".to_owned()
                } else {
                    "probe: the connection failed".to_owned()
                };
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    text.push_str(": ");
                    text.push_str(&cause.to_string());
                    source = cause.source();
                }
                Err(text.replace(&probe.url, "…"))
            }
        }
    }
}

#[async_trait]
impl Periodic for Prober {
    fn name(&self) -> &'static str {
        "remote_prober"
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(500)
    }

    async fn tick(&self) -> Result<Pace, ServiceError> {
        if self.probes.is_empty() {
            return Ok(Pace::Idle);
        }
        let store = self.breakers.store();
        let policy = self.breakers.policy();
        let health = store
            .remote_health()
            .await
            .map_err(|e| ServiceError::of("reading the remotes' health", e))?;
        for down in health.iter().filter(|h| !h.up) {
            let now = now_millis();
            if down.next_probe_at.is_some_and(|due| due > now) {
                continue;
            }
            let Some(probe) = self.probes.iter().find(|p| p.remote == down.name) else {
                continue;
            };
            let next = down.next_probe_after(now, &policy);
            let mine = store
                .take_probe(&down.name, down.probes, next, now)
                .await
                .map_err(|e| ServiceError::of("taking a probe", e))?;
            if !mine {
                continue;
            }
            match self.ask(probe).await {
                Ok(()) => {
                    let resumed = store
                        .remote_back(&down.name, now_millis())
                        .await
                        .map_err(|e| ServiceError::of("resuming the remote's jobs", e))?;
                    self.breakers.forget(&down.name);
                    tracing::info!(remote = %down.name, resumed = resumed.len(), "the remote answers again");
                }
                Err(why) => {
                    store
                        .remote_failed(&down.name, &why, policy, now_millis())
                        .await
                        .map_err(|e| ServiceError::of("recording a failed probe", e))?;
                    tracing::debug!(remote = %down.name, %why, "the remote is still down");
                }
            }
        }
        Ok(Pace::Idle)
    }
}
