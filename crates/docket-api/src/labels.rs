//! Hand labels (`PATCH /v1/documents/{id}`): what `auto` learns from.

use axum::extract::{Path, State};
use axum::Json;
use docket_core::{Document, ErrorCode};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::AppState;

/// A hand label: the document's category (or `null` to remove it).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentPatch {
    category: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DocumentIdPath {
    /// A document id. Another user's document answers 404.
    id: String,
}

#[utoipa::path(patch, path = "/v1/documents/{id}", tag = "documents",
    operation_id = "label_document", params(DocumentIdPath), request_body = DocumentPatch,
    responses(
        (status = 200, description = "The labelled document; `auto` learns from it", body = Document),
        (status = 400, description = "Invalid body or unknown category"),
        (status = 404, description = "No such document"),
    ))]
pub async fn label(
    State(state): State<AppState>,
    caller: Caller,
    Path(DocumentIdPath { id }): Path<DocumentIdPath>,
    crate::extract::ApiJson(body): crate::extract::ApiJson<DocumentPatch>,
) -> ApiResult<Json<Document>> {
    crate::documents::owned_document(&state, &caller, &id).await?;
    if let Some(name) = &body.category {
        let known = state.store.list_categories(&caller.0).await?;
        if !known.iter().any(|c| &c.name == name) {
            return Err(AppError::new(
                ErrorCode::UnknownCategory,
                format!("there is no category named `{name}`: create it first"),
            ));
        }
    }
    let document = state
        .store
        .label_document(&caller.0, &id, body.category.as_deref())
        .await
        .map_err(|e| match e {
            docket_store::StoreError::NotFound => AppError::not_found("document"),
            e => e.into(),
        })?;
    Ok(Json(document))
}
