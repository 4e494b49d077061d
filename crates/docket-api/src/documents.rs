use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_core::Document;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::AppState;

/// The caller's document, or 404: another user's document does not exist for them.
pub(crate) async fn owned_document(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<Document> {
    match state.store.get_document(id).await? {
        Some(d) if d.user == caller.0 => Ok(d),
        _ => Err(AppError::not_found("document")),
    }
}

/// One document, with its extracted text.
#[utoipa::path(get, path = "/v1/documents/{id}", tag = "documents", operation_id = "show_document",
    params(crate::openapi::DocumentPath),
    responses(
        (status = 200, description = "The document", body = Document),
        (status = 404, description = "No such document"),
    ))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Document>> {
    Ok(Json(owned_document(&state, &caller, &id).await?))
}

/// The document's extracted text alone.
#[utoipa::path(get, path = "/v1/documents/{id}/text", tag = "documents",
    operation_id = "document_text", params(crate::openapi::DocumentPath),
    responses(
        (status = 200, description = "The text", body = String,
            content_type = "text/plain"),
        (status = 404, description = "No such document"),
    ))]
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
