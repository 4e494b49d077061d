//! The webhook sender settings of a `serve` or `worker` process.

use anyhow::Context;
use docket_notify::NotifyConfig;
use std::path::Path;

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
        docket_blobs::private_dir(dir)?;
    }
    crate::serve::write_private(path, secret)
}

/// The webhook sender's settings, if this process has a signing secret.
pub fn notify_config(config: &Config, create_secret: bool) -> anyhow::Result<Option<NotifyConfig>> {
    let policy = config.webhook_policy()?;
    Ok(secret(config, create_secret)?.map(|secret| {
        let mut notify = NotifyConfig::new(secret);
        notify.retry.base_ms = config.webhook_retry_base_ms.max(1);
        notify.policy = policy.clone();
        notify
    }))
}
