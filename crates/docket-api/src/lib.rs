//! The HTTP API (`/v1`): a thin layer that authenticates, validates, and calls the store and
//! the blob store. It never waits for work: submits answer `202` and the engine does the rest.

mod auth;
mod cache;
mod categories;
mod classify;
mod dashboard;
mod document_files;
mod documents;
mod error;
mod events;
mod extract;
mod health;
mod jobs;
mod labels;
mod me;
mod metrics;
mod openapi;
mod openapi_links;
mod publish;
mod rate_limit;
mod reindex;
mod remotes;
mod results;
mod schedules;
mod search;
mod submit;
mod uploads;
mod ws;
mod ws_tickets;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, options, post};
use axum::Router;
use docket_blobs::Blobs;
use docket_engine::EngineHandle;
use docket_store::prelude::*;

pub use auth::{hash_token, new_token, TokenCache};
pub use cache::JobCache;
pub use docket_core::rfc3339;
pub use error::AppError;
pub use openapi::{document as openapi_document, document_json as openapi_json};
pub use rate_limit::{Budget, RateLimitConfig, RateLimits};

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest upload (a whole multipart body), in bytes.
    pub upload_limit: u64,
    /// Largest file, in bytes: the same setting as the pipeline's largest processable file,
    /// so what could never be processed is refused at upload.
    pub max_file_bytes: u64,
    /// Bytes of uploads each user may keep stored; `None`: no quota.
    pub storage_quota_bytes: Option<u64>,
    /// Canonical directories a folder source may lie under.
    pub allowed_roots: Vec<PathBuf>,
    /// Where jobs can be published to (trusted configuration; users name one).
    pub publish_targets: docket_publish::Targets,
    /// Every remote the configuration names (OCR providers, publish targets).
    pub remotes: Vec<docket_app::ConfiguredRemote>,
    /// Where a job's `notify_url` may point (`[webhooks] allow_private`).
    pub webhook_policy: docket_app::WebhookPolicy,
    /// A resumable upload not appended to for this long expires.
    pub upload_expiry: std::time::Duration,
    /// Signs WebSocket tickets; the same on every API process of a deployment.
    pub ws_ticket_key: Vec<u8>,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub blobs: Blobs,
    /// Wakes this process's engine when work arrives; `None` for an API-only process.
    pub engine: Option<EngineHandle>,
    pub config: Arc<ApiConfig>,
    pub tokens: Arc<TokenCache>,
    pub jobs: Arc<JobCache>,
    /// Each user's classifier (rules + learned model), cached briefly.
    pub classifiers: docket_pipeline::Classifiers,
    /// Extractor processes for `POST /v1/classify`.
    pub extractor: docket_pipeline::ExtractorPool,
    /// This process's engine counters, if it runs one.
    pub metrics: Option<Arc<docket_engine::EngineMetrics>>,
    /// This process's background services (empty if it runs none), for `/metrics`.
    pub services: docket_service::ServicesStatus,
    /// Request budgets per token and failed-authentication budgets per address.
    pub limits: Arc<RateLimits>,
}

impl AppState {
    pub(crate) fn submission(&self) -> docket_app::Submission {
        docket_app::Submission::new(
            self.store.clone(),
            self.blobs.clone(),
            Arc::new(self.config.allowed_roots.clone()),
            docket_app::UploadLimits {
                max_file_bytes: self.config.max_file_bytes,
                max_upload_bytes: self.config.upload_limit,
                storage_quota_bytes: self.config.storage_quota_bytes,
            },
        )
        .with_webhook_policy(self.config.webhook_policy.clone())
    }

    pub(crate) fn schedules(&self) -> docket_app::Schedules {
        docket_app::Schedules::new(
            self.submission(),
            std::sync::Arc::new(self.config.remotes.clone()),
        )
    }

    pub(crate) fn resumable(&self) -> docket_app::Resumable {
        docket_app::Resumable::new(
            self.store.clone(),
            self.blobs.clone(),
            docket_app::ResumableConfig {
                max_size: self.config.upload_limit,
                max_file_bytes: self.config.max_file_bytes,
                storage_quota_bytes: self.config.storage_quota_bytes,
                expiry: self.config.upload_expiry,
            },
        )
    }

    pub(crate) fn deletion(&self) -> docket_app::Deletion {
        docket_app::Deletion::new(self.store.clone(), self.blobs.clone())
    }

    pub(crate) fn classification(&self) -> docket_app::Classification {
        docket_app::Classification::new(self.classifiers.clone(), self.extractor.clone())
    }

    pub(crate) fn wake_engine(&self) {
        if let Some(engine) = &self.engine {
            engine.wake();
        }
    }
}

/// tus 1.0 under `/v1/uploads`: bodies are streamed to disk (each append is bounded by what is
/// left of its upload), and every request and answer goes through the tus version check.
fn upload_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/uploads",
            options(uploads::options).post(uploads::create),
        )
        .route(
            "/v1/uploads/{id}",
            axum::routing::head(uploads::head)
                .patch(uploads::append)
                .delete(uploads::terminate),
        )
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(uploads::tus_version))
}

pub fn router(state: AppState) -> Router {
    let upload_limit = usize::try_from(state.config.upload_limit).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/v1/jobs",
            post(submit::submit)
                .get(jobs::list)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .merge(upload_routes())
        .route(
            "/v1/jobs/{id}",
            get(jobs::show).delete(jobs::delete).patch(jobs::change),
        )
        .route("/v1/jobs/{id}/pause", post(jobs::pause))
        .route("/v1/jobs/{id}/resume", post(jobs::resume))
        .route("/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/v1/jobs/{id}/items", get(jobs::items))
        .route("/v1/jobs/{id}/events", get(events::job_events))
        .route("/v1/events", get(events::all_events))
        .route("/v1/jobs/{id}/ws", get(ws::job_ws))
        .route("/v1/ws", get(ws::all_ws))
        .route("/v1/ws-tickets", post(ws_tickets::create))
        .route("/v1/jobs/{id}/results", get(results::results))
        .route("/v1/jobs/{id}/publish", post(publish::publish))
        .route("/v1/publish/targets", get(publish::targets))
        .route("/v1/remotes", get(remotes::list))
        .route(
            "/v1/documents/{id}",
            get(documents::show).patch(labels::label),
        )
        .route("/v1/documents/{id}/text", get(documents::text))
        .route("/v1/documents/{id}/file", get(document_files::file))
        .route(
            "/v1/documents/{id}/thumbnail",
            get(document_files::thumbnail),
        )
        .route("/v1/search", get(search::search))
        .route(
            "/v1/categories",
            get(categories::list).post(categories::create),
        )
        .route(
            "/v1/categories/{id}",
            get(categories::show)
                .put(categories::replace)
                .delete(categories::delete),
        )
        .route(
            "/v1/classify",
            post(classify::classify)
                .layer(DefaultBodyLimit::max(classify::CLASSIFY_LIMIT + 64 * 1024)),
        )
        .route("/v1/reindex", post(reindex::reindex))
        .route("/v1/me", get(me::me))
        .route(
            "/v1/schedules",
            get(schedules::list).post(schedules::create),
        )
        .route(
            "/v1/schedules/{id}",
            get(schedules::show)
                .patch(schedules::change)
                .delete(schedules::delete),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .merge(dashboard::routes())
        .fallback(health::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ))
        .with_state(state)
}
