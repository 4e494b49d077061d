//! `docket worker` and `docket migrate`, and the process composition `serve` shares.

use std::path::PathBuf;

use docket_pipeline::PoolConfig;
use docket_runtime::RuntimeConfig;
use docket_service::Backoff;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = docket_store::connect(&config.database_url).await?;
    println!(
        "{} database at {} is migrated",
        store.backend(),
        redact(&config.database_url)
    );
    Ok(())
}

pub async fn worker(config: &Config) -> anyhow::Result<()> {
    // A worker elsewhere may have no data directory (it only reads a webhook secret there).
    if config.data_dir.exists() {
        crate::private_files::private_data_dir(&config.data_dir)?;
    }
    let store = docket_store::connect(&config.database_url).await?;
    let blobs = docket_blobs::Blobs::open(&config.blobs)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let runtime = docket_runtime::compose(runtime_config(config, true, false)?, store, blobs)?;
    tracing::info!(workers = config.engine().workers, services = ?runtime.service_names(), "worker started");
    runtime.run(shutdown).await?;
    tracing::info!("worker stopped");
    Ok(())
}

/// What `serve` and `worker` compose; they differ only in whether an engine runs and whether
/// a missing webhook secret is made.
pub fn runtime_config(
    config: &Config,
    run_engine: bool,
    create_secret: bool,
) -> anyhow::Result<RuntimeConfig> {
    Ok(RuntimeConfig {
        engine: config.engine(),
        run_engine,
        extractor: extractor_pool(config),
        max_file_bytes: config.max_file_bytes,
        webhooks: crate::webhooks::notify_config(config, create_secret)?,
        backoff: Backoff::default(),
        publish_targets: config.publish_targets()?,
        google_vision: config.google_vision()?,
        breaker: config.breaker(),
        resumable: config.resumable(),
        submit_rules: docket_runtime::SubmitRules {
            allowed_roots: allowed_roots(config),
            limits: docket_app::UploadLimits {
                max_file_bytes: config.max_file_bytes,
                max_upload_bytes: config.upload_limit_bytes,
                storage_quota_bytes: config.storage_quota_bytes,
            },
            webhook_policy: config.webhook_policy()?,
            schedule_interval: std::time::Duration::from_millis(500),
        },
    })
}

/// The allowed roots of folder sources, resolved once; one that cannot be resolved is left
/// out (with a warning), so nothing can lie under it.
pub fn allowed_roots(config: &Config) -> Vec<PathBuf> {
    config
        .allowed_roots
        .iter()
        .filter_map(|r| match r.canonicalize() {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(root = %r.display(), error = %e, "allowed root ignored: it cannot be resolved");
                None
            }
        })
        .collect()
}

/// The extractor processes of this process: `docket extractor` children of this binary, one
/// per core by default, never more than workers (and at least one, for `POST /v1/classify`).
fn extractor_pool(config: &Config) -> PoolConfig {
    let program = std::env::current_exe().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot find this executable; extractors start as `docket`");
        PathBuf::from("docket")
    });
    let mut pool = PoolConfig::new(program, vec!["extractor".into()]);
    pool.size = config.extractor_processes();
    pool.memory_limit_mib = Some(
        config
            .extract
            .memory_limit_mb
            .unwrap_or_else(|| docket_pipeline::default_extractor_memory_mib(pool.size)),
    );
    // Only a backstop: each item stops its parser before its own timeout
    // (`item_timeout_seconds`, at most a week) runs out.
    pool.timeout = std::time::Duration::from_secs(7 * 24 * 3600);
    pool
}

/// Cancels `token` on SIGTERM or SIGINT.
pub async fn stop_on_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("stopping: letting running items reach a stage boundary");
    token.cancel();
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}
