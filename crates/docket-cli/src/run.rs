//! `docket worker` and `docket migrate`.

use std::sync::Arc;

use docket_core::JobKind;
use docket_engine::{Engine, NoopHandler};
use docket_store::prelude::*;
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

/// The engine with every handler this build knows.
pub fn engine(store: Arc<dyn Store>, config: &Config) -> Engine {
    Engine::new(store, config.engine()).with_handler(JobKind::Noop, Arc::new(NoopHandler))
}

pub async fn worker(config: &Config) -> anyhow::Result<()> {
    let store = docket_store::connect(&config.database_url).await?;
    let blobs = docket_blobs::Blobs::open(&config.blobs)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let webhooks = crate::webhooks::spawn(store.clone(), config, false, shutdown.clone())?;
    let trainer = tokio::spawn(docket_pipeline::run_trainer(
        store.clone(),
        shutdown.clone().cancelled_owned(),
    ));
    let classifiers = docket_pipeline::Classifiers::new(store.clone());
    let extractor = crate::serve::extractor_pool(config);
    let engine = crate::serve::full_engine(store, blobs, config, extractor, classifiers);
    tracing::info!(workers = config.engine().workers, "worker started");
    engine.run(shutdown).await?;
    if let Some(task) = webhooks {
        task.await?;
    }
    trainer.await?;
    tracing::info!("worker stopped");
    Ok(())
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
