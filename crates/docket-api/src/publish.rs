//! `POST /v1/jobs/{id}/publish` and `GET /v1/publish/targets`: hand a job's documents over to
//! a repository the server's configuration names.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_core::PublishMode;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::jobs::owned_job;
use crate::AppState;

/// What to publish to: a configured target's name, and optionally a mode other than the
/// target's default.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    target: String,
    #[serde(default)]
    mode: Option<PublishMode>,
}

#[utoipa::path(post, path = "/v1/jobs/{id}/publish", tag = "jobs", operation_id = "publish_job",
    params(crate::openapi::JobPath),
    request_body = PublishBody,
    responses(
        (status = 202, description = "A `publish` job over the job's succeeded documents", body = docket_core::Job),
        (status = 400, description = "Unknown target or mode, or a malformed body"),
        (status = 404, description = "No such job"),
        (status = 409, description = "The job has no succeeded documents to publish"),
    ))]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PublishBody>,
) -> ApiResult<Response> {
    let job = owned_job(&state, &caller, &id).await?;
    let request = docket_app::PublishRequest {
        target: body.target,
        mode: body.mode,
    };
    let created =
        docket_app::publish(&state.store, &state.config.publish_targets, &job, request).await?;
    state.wake_engine();
    let job = created.job;
    let location = format!("/v1/jobs/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(job),
    )
        .into_response())
}

/// A configured target, as users see it: its name and defaults, never its URL or credentials.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublishTarget {
    name: String,
    mode: PublishMode,
    concurrency: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublishTargets {
    targets: Vec<PublishTarget>,
}

#[utoipa::path(get, path = "/v1/publish/targets", tag = "jobs", operation_id = "publish_targets",
    responses((status = 200, description = "The targets a job can be published to", body = PublishTargets)))]
pub async fn targets(State(state): State<AppState>, _caller: Caller) -> Json<PublishTargets> {
    Json(PublishTargets {
        targets: state
            .config
            .publish_targets
            .iter()
            .map(|t| PublishTarget {
                name: t.name.clone(),
                mode: t.mode,
                concurrency: t.concurrency,
            })
            .collect(),
    })
}
