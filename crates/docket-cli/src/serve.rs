//! `docket serve`: the API, the dashboard and (unless `workers = 0`) a worker pool, in one
//! process.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use docket_api::{ApiConfig, AppState, JobCache, TokenCache};
use docket_blobs::Blobs;
use docket_store::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::run::{self, stop_on_signal};

pub async fn serve(config: &Config) -> anyhow::Result<()> {
    crate::private_files::private_data_dir(&config.data_dir)?;
    let store = docket_store::connect(&config.database_url)
        .await
        .with_context(|| format!("opening the database {}", run::redact(&config.database_url)))?;
    let blobs = Blobs::open(&config.blobs)
        .with_context(|| format!("opening blob storage {}", config.blobs))?;
    first_start_token(&store, config).await?;

    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let workers = config.workers.unwrap_or_else(|| config.engine().workers);
    let runtime = docket_runtime::compose(
        run::runtime_config(config, workers > 0, true)?,
        store.clone(),
        blobs.clone(),
    )?;
    // What the API shares with the engine and the services, taken before they start.
    let engine_handle = runtime.engine_handle.clone();
    let engine_metrics = runtime.engine_metrics.clone();
    let service_status = runtime.services.clone();
    let classifiers = runtime.classifiers.clone();
    let extractor = runtime.extractor.clone();
    let services = runtime.service_names();
    let background = tokio::spawn(runtime.run(shutdown.clone()));

    let allowed_roots = run::allowed_roots(config);
    let state = AppState {
        store,
        blobs,
        engine: engine_handle,
        config: Arc::new(ApiConfig {
            upload_limit: config.upload_limit_bytes,
            max_file_bytes: config.max_file_bytes,
            storage_quota_bytes: config.storage_quota_bytes,
            allowed_roots,
            publish_targets: config.publish_targets()?,
            remotes: config.remotes(),
            webhook_policy: config.webhook_policy()?,
            upload_expiry: config.resumable().expiry,
            ws_ticket_key: ws_ticket_key(config)?,
        }),
        tokens: Arc::new(TokenCache::default()),
        jobs: Arc::new(JobCache::default()),
        classifiers,
        extractor,
        metrics: engine_metrics,
        services: service_status,
        limits: Arc::new(docket_api::RateLimits::new(&config.rate_limit.limits())),
    };
    let addr: SocketAddr = config
        .bind
        .parse()
        .with_context(|| format!("bad bind address `{}`", config.bind))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    // The first line on stdout says where we listen (tests and scripts read it).
    println!("docket listening on http://{local}");
    tracing::info!(%local, workers, ?services, "serving");
    let app = docket_api::router(state);
    let token = shutdown.clone();
    // The client's address is what failed authentications are counted by.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { token.cancelled().await })
    .await
    .context("serving HTTP")?;
    background.await.context("engine and services task")??;
    tracing::info!("stopped");
    Ok(())
}

/// The key WebSocket tickets are signed with: derived from the deployment's webhook secret
/// (configured, or made at first start), which every API process shares already.
fn ws_ticket_key(config: &Config) -> anyhow::Result<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let secret = crate::webhooks::secret(config, true)?.unwrap_or_else(docket_api::new_token);
    Ok(Sha256::digest(format!("docket websocket tickets\0{secret}")).to_vec())
}

/// On a brand-new installation there is no token yet: make one for the user `local`, save it
/// where the CLI looks, and say so. Nothing is served without a token.
async fn first_start_token(store: &Arc<dyn Store>, config: &Config) -> anyhow::Result<()> {
    if !store.list_tokens().await?.is_empty() {
        return Ok(());
    }
    let token = docket_api::new_token();
    store
        .create_token(
            "local",
            &docket_api::hash_token(&token),
            Some("first start"),
            docket_core::now_millis(),
        )
        .await?;
    let path = config.data_dir.join("token");
    write_private(&path, &token)
        .with_context(|| format!("saving the token to {}", path.display()))?;
    eprintln!(
        "\nFirst start: created an API token for user `local`, saved to {} (the docket CLI reads it \
         from there).\n  token: {token}\n  try:   curl -H 'Authorization: Bearer {token}' http://{}/v1/jobs\n",
        path.display(),
        config.bind
    );
    Ok(())
}

pub(crate) fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}
