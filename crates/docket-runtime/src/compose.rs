//! Builds and runs the parts of a process.

use std::sync::Arc;

use docket_blobs::Blobs;
use docket_breaker::{Breakers, Probe, Prober};
use docket_core::BreakerPolicy;
use docket_core::JobKind;
use docket_engine::{Engine, EngineConfig, EngineHandle, EngineMetrics, NoopHandler};
use docket_notify::{Notifier, NotifyConfig, WebhookDeliverer};
use docket_pipeline::{
    Classifiers, DocumentLister, ExtractorPool, FolderLister, GoogleVision, OcrProviders,
    PoolConfig, ProcessHandler, ProcessLimits, ReindexHandler, Trainer, VisionConfig,
    GOOGLE_VISION,
};
use docket_publish::{PublishHandler, PublishLister};
use docket_service::{Backoff, ServicesStatus, Supervisor, Ticking};
use docket_store::Store;
use tokio_util::sync::CancellationToken;

use crate::RuntimeError;

/// What a process runs.
pub struct RuntimeConfig {
    pub engine: EngineConfig,
    /// `false` for an API-only `serve` (`workers = 0`): no engine, and so none of its services
    /// (rescue, deadlines, retention, listing); webhooks and training still run.
    pub run_engine: bool,
    /// The extractor children (for the `process` handler and `POST /v1/classify`).
    pub extractor: PoolConfig,
    /// Largest file the `process` handler reads (the same setting as the upload's per-file
    /// limit).
    pub max_file_bytes: u64,
    /// `None`: this process has no signing secret and sends no webhooks.
    pub webhooks: Option<NotifyConfig>,
    /// How the supervisor spaces restarts of a failed service.
    pub backoff: Backoff,
    /// Where `publish` jobs publish to. Without any, this process claims no `publish` items
    /// (so a worker configured without targets never fails another's publish).
    pub publish_targets: docket_publish::Targets,
    /// `[ocr.google_vision]`, if configured: jobs may then choose `google_vision`.
    pub google_vision: Option<VisionConfig>,
    /// When a remote is marked down and how it is probed.
    pub breaker: BreakerPolicy,
    /// Resumable uploads: expired ones are removed by this process's `upload_cleaner`.
    pub resumable: docket_app::ResumableConfig,
    /// What a scheduled job's submit is checked against: the same rules as the API's.
    pub submit_rules: SubmitRules,
}

/// The rules every submit follows, whether a request or a schedule's tick makes it.
#[derive(Clone)]
pub struct SubmitRules {
    /// Canonical directories a folder source may lie under.
    pub allowed_roots: Vec<std::path::PathBuf>,
    pub limits: docket_app::UploadLimits,
    pub webhook_policy: docket_app::WebhookPolicy,
    /// How often the `scheduler` looks for due ticks.
    pub schedule_interval: std::time::Duration,
}

/// A composed process, ready to run.
pub struct Runtime {
    engine: Option<Engine>,
    supervisor: Supervisor,
    pub classifiers: Classifiers,
    pub extractor: ExtractorPool,
    /// Wakes the engine when work arrives (`None` without one).
    pub engine_handle: Option<EngineHandle>,
    pub engine_metrics: Option<Arc<EngineMetrics>>,
    /// Every service's counters, for `/metrics`.
    pub services: ServicesStatus,
}

/// The engine with every handler and lister this build has, and every background service.
pub fn compose(
    config: RuntimeConfig,
    store: Arc<dyn Store>,
    blobs: Blobs,
) -> Result<Runtime, RuntimeError> {
    // Before anything starts: a bad engine configuration stops the process at once.
    if config.run_engine {
        config.engine.validate()?;
    }
    let extractor = ExtractorPool::new(config.extractor);
    let classifiers = Classifiers::new(store.clone());
    let mut supervisor = Supervisor::new(config.backoff);
    let breakers = Breakers::new(store.clone(), config.breaker);
    let ocr = ocr_providers(config.google_vision, &breakers)?;

    let mut engine = config
        .run_engine
        .then(|| {
            let limits = ProcessLimits {
                max_file_bytes: config.max_file_bytes,
                ..ProcessLimits::default()
            };
            let process =
                ProcessHandler::new(store.clone(), blobs.clone(), limits, extractor.clone())
                    .with_classifiers(classifiers.clone())
                    .with_ocr(ocr.clone());
            engine(
                store.clone(),
                blobs.clone(),
                config.engine,
                process,
                classifiers.clone(),
                &config.publish_targets,
                &breakers,
            )
        })
        .transpose()?;
    if let Some(engine) = engine.as_mut() {
        for service in engine.take_services() {
            supervisor.add(service);
        }
    }
    if let Some(notify) = config.webhooks {
        let notifier = Notifier::new(store.clone(), notify)
            .map_err(|e| RuntimeError::Webhooks(e.to_string()))?;
        supervisor.add(Arc::new(Ticking(WebhookDeliverer(notifier))));
    } else {
        tracing::warn!("no webhook secret (DOCKET_WEBHOOK_SECRET): this process sends no webhooks");
    }
    supervisor.add(Arc::new(Ticking(Trainer {
        store: store.clone(),
    })));
    // Every process with remotes probes the down ones; each due probe is taken by one.
    let vision_probes = ocr.google_vision.iter().map(|vision| Probe {
        remote: GOOGLE_VISION.to_owned(),
        url: vision.probe_url(),
    });
    let target_probes = config.publish_targets.iter().map(|target| Probe {
        remote: target.name.clone(),
        url: docket_publish::Archipelago::probe_url(target),
    });
    let probes: Vec<Probe> = vision_probes.chain(target_probes).collect();
    if !probes.is_empty() {
        let prober =
            Prober::new(breakers, probes).map_err(|e| RuntimeError::Remotes(e.to_string()))?;
        supervisor.add(Arc::new(Ticking(prober)));
    }
    // Every process runs the scheduler; the database lets each tick through once.
    let rules = config.submit_rules;
    let submission = docket_app::Submission::new(
        store.clone(),
        blobs.clone(),
        Arc::new(rules.allowed_roots),
        rules.limits,
    )
    .with_webhook_policy(rules.webhook_policy);
    let mut scheduler = docket_app::Scheduler::new(
        submission,
        Arc::new(docket_core::now_millis),
        rules.schedule_interval,
    );
    if let Some(handle) = engine.as_ref().map(Engine::handle) {
        scheduler = scheduler.on_job(Arc::new(move || handle.wake()));
    }
    supervisor.add(Arc::new(Ticking(scheduler)));
    supervisor.add(Arc::new(Ticking(docket_app::UploadCleaner {
        uploads: docket_app::Resumable::new(store.clone(), blobs.clone(), config.resumable),
    })));
    // Further services of the process are added here.

    Ok(Runtime {
        engine_handle: engine.as_ref().map(Engine::handle),
        engine_metrics: engine.as_ref().map(Engine::metrics),
        services: supervisor.status(),
        engine,
        supervisor,
        classifiers,
        extractor,
    })
}

/// The remote OCR providers configured, reporting to this process's breakers.
fn ocr_providers(
    google_vision: Option<VisionConfig>,
    breakers: &Breakers,
) -> Result<OcrProviders, RuntimeError> {
    let health: Arc<dyn docket_remote::Health> = Arc::new(breakers.clone());
    let google_vision = google_vision
        .map(|config| GoogleVision::new(config, Some(health)).map(Arc::new))
        .transpose()
        .map_err(|e| RuntimeError::Remotes(e.to_string()))?;
    Ok(OcrProviders {
        google_vision,
        breakers: Some(breakers.clone()),
    })
}

fn engine(
    store: Arc<dyn Store>,
    blobs: Blobs,
    config: EngineConfig,
    process: ProcessHandler,
    classifiers: Classifiers,
    targets: &docket_publish::Targets,
    breakers: &Breakers,
) -> Result<Engine, RuntimeError> {
    let reindex = ReindexHandler {
        store: store.clone(),
        classifiers,
    };
    let documents = DocumentLister {
        store: store.clone(),
    };
    // Durable deletion: jobs marked deleted (by users or by retention) lose their files, then
    // their rows, in the engine's `deleter` service.
    let cleanup = docket_app::Deletion::new(store.clone(), blobs.clone());
    let mut engine = Engine::new(store.clone(), config)
        .with_handler(JobKind::Noop, Arc::new(NoopHandler))
        .with_handler(JobKind::Process, Arc::new(process))
        .with_lister(JobKind::Process, Arc::new(FolderLister::default()))
        .with_handler(JobKind::Reindex, Arc::new(reindex))
        .with_lister(JobKind::Reindex, Arc::new(documents))
        .with_cleanup(Arc::new(cleanup));
    if !targets.is_empty() {
        let publish = PublishHandler::new(store.clone(), blobs, targets, Some(breakers.clone()))
            .map_err(|e| RuntimeError::Publish(e.to_string()))?;
        engine = engine
            .with_handler(JobKind::Publish, Arc::new(publish))
            .with_lister(JobKind::Publish, Arc::new(PublishLister { store }));
    }
    Ok(engine)
}

impl Runtime {
    /// The names of the services this process runs, in start order.
    pub fn service_names(&self) -> Vec<&'static str> {
        self.supervisor.names()
    }

    /// Runs the engine and the services until `shutdown`. The engine drains (running items
    /// reach a stage boundary, outcomes are written); services that keep jobs honest stop
    /// after that, the others at once. Returns when everything has stopped.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RuntimeError> {
        let drained = CancellationToken::new();
        let services = tokio::spawn(self.supervisor.run(shutdown.clone(), drained.clone()));
        let outcome = match self.engine {
            Some(engine) => tokio::spawn(engine.run(shutdown.clone()))
                .await
                .map_err(|e| RuntimeError::EngineTask(e.to_string()))
                .and_then(|r| r.map_err(RuntimeError::from)),
            None => {
                shutdown.cancelled().await;
                Ok(())
            }
        };
        // Also on an engine error: the services must not outlive the process's work.
        drained.cancel();
        shutdown.cancel();
        if let Err(e) = services.await {
            tracing::error!("the service supervisor failed: {e}");
        }
        outcome
    }
}
