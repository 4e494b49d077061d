use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_core::Document;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::view::rfc3339;
use crate::AppState;

async fn owned_document(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Document> {
    match state.store.get_document(id).await? {
        Some(d) if d.user == caller.0 => Ok(d),
        _ => Err(AppError::not_found("document")),
    }
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let d = owned_document(&state, &caller, &id).await?;
    Ok(Json(json!({
        "id": d.id,
        "job_id": d.job_id,
        "name": d.name,
        "sha256": d.sha256,
        "media_type": d.media_type,
        "size": d.size,
        "pages": d.pages,
        "text": d.text,
        "category": d.category,
        "confidence": d.confidence,
        "metadata": d.metadata,
        "created_at": rfc3339(d.created_at),
    })))
}

pub async fn text(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let d = owned_document(&state, &caller, &id).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        d.text,
    )
        .into_response())
}
