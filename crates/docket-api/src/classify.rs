//! One-off classification (`POST /v1/classify`): JSON text, or one small file whose text the
//! application's [`docket_app::Classification`] extracts.

use axum::extract::{Multipart, State};
use axum::http::header;
use axum::Json;
use docket_core::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::AppState;

/// Text to classify, when no file is sent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyText {
    text: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClassifyAnswer {
    /// `null` when no rule matched and there is no model.
    category: Option<String>,
    confidence: Option<f32>,
    /// The algorithm that decided: `any`, `all`, `literal`, `regex`, `fuzzy` or `auto`.
    matched_by: Option<String>,
}

/// Largest file `POST /v1/classify` takes: it answers while the client waits.
pub use docket_app::CLASSIFY_LIMIT;

#[utoipa::path(post, path = "/v1/classify", tag = "classification",
    operation_id = "classify",
    request_body(content(
        (ClassifyText = "application/json"),
        (crate::openapi::ClassifyUpload = "multipart/form-data"),
    ), description = "JSON `{\"text\": …}`, or a multipart form with one `file` (at most 10 MiB)"),
    responses(
        (status = 200, description = "The category the caller's rules and model give", body = ClassifyAnswer),
        (status = 400, description = "No text or file, or a file that cannot be read"),
        (status = 413, description = "The file is larger than 10 MiB"),
    ))]
pub async fn classify(
    State(state): State<AppState>,
    caller: Caller,
    request: axum::extract::Request,
) -> ApiResult<Json<ClassifyAnswer>> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let text = if is_multipart {
        let multipart =
            <Multipart as axum::extract::FromRequest<AppState>>::from_request(request, &state)
                .await
                .map_err(|e| AppError::new(ErrorCode::MalformedMultipart, e.body_text()))?;
        text_of_file(&state, multipart).await?
    } else {
        let crate::extract::ApiJson(body) = <crate::extract::ApiJson<ClassifyText> as axum::extract::FromRequest<AppState>>::from_request(request, &state).await?;
        body.text
    };
    let decided = state.classification().classify(&caller.0, text).await?;
    Ok(Json(match decided {
        Some(c) => ClassifyAnswer {
            category: Some(c.category),
            confidence: Some(c.confidence),
            matched_by: Some(c.matched_by),
        },
        None => ClassifyAnswer {
            category: None,
            confidence: None,
            matched_by: None,
        },
    }))
}

async fn text_of_file(state: &AppState, mut multipart: Multipart) -> ApiResult<String> {
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::new(ErrorCode::MalformedMultipart, e.body_text()))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload").to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| AppError::new(ErrorCode::MalformedMultipart, e.body_text()))?
        {
            if bytes.len() + chunk.len() > CLASSIFY_LIMIT {
                return Err(docket_app::classify_too_large().into());
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(state.classification().text_of(name, bytes).await?);
    }
    Err(AppError::new(
        ErrorCode::MissingFile,
        "send JSON {\"text\": …} or a multipart form with a `file` part",
    ))
}
