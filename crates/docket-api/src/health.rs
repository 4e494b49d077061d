use axum::extract::State;
use axum::Json;
use docket_core::ErrorCode;
use serde_json::{json, Value};

use crate::error::{ApiResult, AppError};
use crate::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", operation_id = "healthz", security(()),
    responses((status = 200, description = "Alive", body = crate::openapi::Health)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the database answers.
#[utoipa::path(get, path = "/readyz", tag = "system", operation_id = "readyz", security(()),
    responses(
        (status = 200, description = "Ready", body = crate::openapi::Ready),
        (status = 503, description = "The database does not answer"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state
        .store
        .get_job("job_00000000000000000000000000000000", 0)
        .await
        .map_err(|_| AppError::unavailable())?;
    Ok(Json(
        json!({"status": "ready", "database": state.store.backend()}),
    ))
}

pub async fn not_found() -> AppError {
    AppError::new(ErrorCode::NotFound, "no such endpoint")
}
