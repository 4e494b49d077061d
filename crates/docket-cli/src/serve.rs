//! `docket serve`: the API, the dashboard and (unless `workers = 0`) a worker pool, in one
//! process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use docket_api::{ApiConfig, AppState, JobCache, TokenCache};
use docket_blobs::Blobs;
use docket_core::JobKind;
use docket_pipeline::{
    run_trainer, Classifiers, DocumentLister, ExtractorPool, FolderLister, PoolConfig,
    ProcessHandler, ProcessLimits, ReindexHandler,
};
use docket_store::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::run::{self, stop_on_signal};

pub async fn serve(config: &Config) -> anyhow::Result<()> {
    let store = docket_store::connect(&config.database_url)
        .await
        .with_context(|| format!("opening the database {}", run::redact(&config.database_url)))?;
    let blobs = Blobs::open(&config.blobs)
        .with_context(|| format!("opening blob storage {}", config.blobs))?;
    first_start_token(&store, config).await?;

    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let webhooks = crate::webhooks::spawn(store.clone(), config, true, shutdown.clone())?;

    let trainer = tokio::spawn(run_trainer(
        store.clone(),
        shutdown.clone().cancelled_owned(),
    ));
    let extractor = extractor_pool(config);
    let classifiers = Classifiers::new(store.clone());

    let workers = config.workers.unwrap_or_else(|| config.engine().workers);
    let (engine_handle, engine_metrics, engine_task) = if workers > 0 {
        let engine = full_engine(
            store.clone(),
            blobs.clone(),
            config,
            extractor.clone(),
            classifiers.clone(),
        );
        let handle = engine.handle();
        let metrics = engine.metrics();
        let token = shutdown.clone();
        (
            Some(handle),
            Some(metrics),
            Some(tokio::spawn(async move { engine.run(token).await })),
        )
    } else {
        (None, None, None)
    };

    let allowed_roots = config
        .allowed_roots
        .iter()
        .filter_map(|r| match r.canonicalize() {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(root = %r.display(), error = %e, "allowed root ignored: it cannot be resolved");
                None
            }
        })
        .collect::<Vec<PathBuf>>();
    let state = AppState {
        store,
        blobs,
        engine: engine_handle,
        config: Arc::new(ApiConfig {
            upload_limit: config.upload_limit_bytes,
            allowed_roots,
        }),
        tokens: Arc::new(TokenCache::default()),
        jobs: Arc::new(JobCache::default()),
        classifiers,
        extractor,
        metrics: engine_metrics,
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
    tracing::info!(%local, workers, "serving");
    let app = docket_api::router(state);
    let token = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { token.cancelled().await })
        .await
        .context("serving HTTP")?;
    if let Some(task) = engine_task {
        task.await.context("engine task")??;
    }
    if let Some(task) = webhooks {
        task.await.context("webhook task")?;
    }
    trainer.await.context("trainer task")?;
    tracing::info!("stopped");
    Ok(())
}

/// The extractor processes of this process: `docket extractor` children of this binary, one
/// per worker (at least one, for `POST /v1/classify`), so every worker can extract at once and
/// no more children run than workers.
pub fn extractor_pool(config: &Config) -> ExtractorPool {
    let program = std::env::current_exe().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot find this executable; extractors start as `docket`");
        PathBuf::from("docket")
    });
    let mut pool = PoolConfig::new(program, vec!["extractor".into()]);
    pool.size = config.engine().workers.max(1);
    // Only a backstop: each item stops its parser before its own timeout
    // (`item_timeout_seconds`, at most a week) runs out.
    pool.timeout = std::time::Duration::from_secs(7 * 24 * 3600);
    ExtractorPool::new(pool)
}

/// The engine with every handler and lister this build has.
pub fn full_engine(
    store: Arc<dyn Store>,
    blobs: Blobs,
    config: &Config,
    extractor: ExtractorPool,
    classifiers: Classifiers,
) -> docket_engine::Engine {
    let process = ProcessHandler::new(
        store.clone(),
        blobs.clone(),
        ProcessLimits::default(),
        extractor,
    )
    .with_classifiers(classifiers.clone());
    let reindex = ReindexHandler {
        store: store.clone(),
        classifiers,
    };
    let documents = DocumentLister {
        store: store.clone(),
    };
    let cleanup = docket_app::Deletion::new(store.clone(), blobs);
    run::engine(store, config)
        .with_handler(JobKind::Process, Arc::new(process))
        .with_lister(JobKind::Process, Arc::new(FolderLister::default()))
        .with_handler(JobKind::Reindex, Arc::new(reindex))
        .with_lister(JobKind::Reindex, Arc::new(documents))
        // Durable deletion: the maintenance loop sweeps jobs marked deleted (by users or by
        // retention), removing their files, then their rows.
        .with_cleanup(Arc::new(cleanup))
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
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
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
