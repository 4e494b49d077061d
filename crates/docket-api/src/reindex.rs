//! `POST /v1/reindex`: classify every stored document of the caller again.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::AppState;

#[utoipa::path(post, path = "/v1/reindex", tag = "classification",
    operation_id = "reindex",
    responses((status = 202, description = "A `reindex` job over all of the caller's documents", body = docket_core::Job)))]
pub async fn reindex(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let created = docket_app::reindex(&state.store, &caller.0).await?;
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
