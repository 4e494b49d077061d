//! Starting the webhook sender of a `serve` or `worker` process.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use docket_notify::{Notifier, NotifyConfig};
use docket_store::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// The signing secret: configured, or kept in the data directory. Only `serve` makes one
/// (`create`); a worker without one leaves deliveries to the processes that have it.
pub fn secret(config: &Config, create: bool) -> anyhow::Result<Option<String>> {
    if let Some(secret) = config.webhook_secret.clone().filter(|s| !s.is_empty()) {
        return Ok(Some(secret));
    }
    let path = config.data_dir.join("webhook_secret");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(Some(s.trim().to_owned())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    if !create {
        return Ok(None);
    }
    let secret = docket_api::new_token();
    save(&path, &secret).with_context(|| format!("saving {}", path.display()))?;
    tracing::info!(path = %path.display(), "made a webhook signing secret");
    Ok(Some(secret))
}

fn save(path: &Path, secret: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::serve::write_private(path, secret)
}

/// Spawns the sender; it stops with `shutdown`.
pub fn spawn(
    store: Arc<dyn Store>,
    config: &Config,
    create_secret: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(secret) = secret(config, create_secret)? else {
        tracing::warn!("no webhook secret (DOCKET_WEBHOOK_SECRET): this process sends no webhooks");
        return Ok(None);
    };
    let mut notify = NotifyConfig::new(secret);
    notify.retry.base_ms = config.webhook_retry_base_ms.max(1);
    let notifier = Notifier::new(store, notify).context("starting the webhook sender")?;
    Ok(Some(tokio::spawn(async move {
        notifier.run(shutdown.cancelled_owned()).await
    })))
}
