//! Classification over HTTP: category rules (`/v1/categories`), hand labels
//! (`PATCH /v1/documents/{id}`), one-off classification (`POST /v1/classify`) and `reindex`.

use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_classify::{validate_rule, Algorithm, CategoryRule};
use docket_core::{now_millis, Document, JobKind, JobOptions};
use docket_store::{Category, NewJob};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::AppState;

/// A category rule as sent by a client.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    name: String,
    /// `any`, `all`, `literal`, `regex`, `fuzzy` or `auto`.
    algorithm: String,
    /// What to match; unused by `auto`.
    #[serde(default)]
    pattern: String,
    #[serde(default = "yes")]
    case_insensitive: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CategoryList {
    items: Vec<Category>,
}

fn validated(body: CategoryBody) -> ApiResult<docket_store::CategoryRule> {
    let algorithm: Algorithm = body.algorithm.parse().map_err(|_| {
        AppError::bad_request(
            "invalid_category",
            format!(
                "unknown algorithm `{}`: use any, all, literal, regex, fuzzy or auto",
                body.algorithm
            ),
        )
    })?;
    let rule = CategoryRule::new(
        body.name.trim().to_owned(),
        algorithm,
        body.pattern.clone(),
        body.case_insensitive,
    );
    validate_rule(&rule).map_err(|e| AppError::bad_request("invalid_category", e.to_string()))?;
    Ok(docket_store::CategoryRule {
        name: rule.name,
        algorithm: body.algorithm,
        pattern: body.pattern,
        case_insensitive: body.case_insensitive,
    })
}

fn conflict(e: docket_store::StoreError) -> AppError {
    match e {
        docket_store::StoreError::Conflict(m) => {
            AppError::new(StatusCode::CONFLICT, "category_exists", m)
        }
        docket_store::StoreError::NotFound => AppError::not_found("category"),
        e => e.into(),
    }
}

#[utoipa::path(get, path = "/v1/categories", tag = "classification",
    operation_id = "list_categories",
    responses((status = 200, description = "The caller's categories, in the order their rules are tried", body = CategoryList)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<CategoryList>> {
    let items = state.store.list_categories(&caller.0).await?;
    Ok(Json(CategoryList { items }))
}

#[utoipa::path(post, path = "/v1/categories", tag = "classification",
    operation_id = "create_category", request_body = CategoryBody,
    responses(
        (status = 201, description = "Created", body = Category),
        (status = 400, description = "Invalid rule (unknown algorithm, bad regex, …)"),
        (status = 409, description = "A category with this name exists"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    crate::extract::ApiJson(body): crate::extract::ApiJson<CategoryBody>,
) -> ApiResult<Response> {
    let rule = validated(body)?;
    let category = state
        .store
        .put_category(&caller.0, None, rule, now_millis())
        .await
        .map_err(conflict)?;
    let location = format!("/v1/categories/{}", category.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(category),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CategoryPath {
    /// A category id.
    id: String,
}

#[utoipa::path(get, path = "/v1/categories/{id}", tag = "classification",
    operation_id = "show_category", params(CategoryPath),
    responses((status = 200, description = "The category", body = Category),
              (status = 404, description = "No such category")))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(CategoryPath { id }): Path<CategoryPath>,
) -> ApiResult<Json<Category>> {
    state
        .store
        .list_categories(&caller.0)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .map(Json)
        .ok_or_else(|| AppError::not_found("category"))
}

#[utoipa::path(put, path = "/v1/categories/{id}", tag = "classification",
    operation_id = "replace_category", params(CategoryPath), request_body = CategoryBody,
    responses(
        (status = 200, description = "Replaced", body = Category),
        (status = 400, description = "Invalid rule"),
        (status = 404, description = "No such category"),
        (status = 409, description = "Another category has this name"),
    ))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(CategoryPath { id }): Path<CategoryPath>,
    crate::extract::ApiJson(body): crate::extract::ApiJson<CategoryBody>,
) -> ApiResult<Json<Category>> {
    let rule = validated(body)?;
    let category = state
        .store
        .put_category(&caller.0, Some(&id), rule, now_millis())
        .await
        .map_err(conflict)?;
    Ok(Json(category))
}

#[utoipa::path(delete, path = "/v1/categories/{id}", tag = "classification",
    operation_id = "delete_category", params(CategoryPath),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such category")))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(CategoryPath { id }): Path<CategoryPath>,
) -> ApiResult<StatusCode> {
    if state.store.delete_category(&caller.0, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found("category"))
    }
}

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
            return Err(AppError::bad_request(
                "unknown_category",
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
pub const CLASSIFY_LIMIT: usize = 10 * 1024 * 1024;
/// Longest `POST /v1/classify` spends reading a file.
const CLASSIFY_TIME: std::time::Duration = std::time::Duration::from_secs(60);

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
                .map_err(|e| AppError::bad_request("invalid_multipart", e.body_text()))?;
        text_of_file(&state, multipart).await?
    } else {
        let crate::extract::ApiJson(body) = <crate::extract::ApiJson<ClassifyText> as axum::extract::FromRequest<AppState>>::from_request(request, &state).await?;
        body.text
    };
    let (decided, _) = state.classifiers.classify(&caller.0, text).await?;
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
        .map_err(|e| AppError::bad_request("invalid_multipart", e.body_text()))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload").to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| AppError::bad_request("invalid_multipart", e.body_text()))?
        {
            if bytes.len() + chunk.len() > CLASSIFY_LIMIT {
                return Err(AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "POST /v1/classify takes files up to 10 MiB; submit larger ones as a job",
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let request = docket_extract::pool::Request {
            source: docket_extract::pool::Source::Bytes(bytes),
            name,
            options: docket_extract::Options::default(),
        };
        // The client is waiting: a parser that takes longer is stopped (dropping the call kills
        // its extractor process) and the answer says why.
        let extraction =
            tokio::time::timeout(CLASSIFY_TIME, state.extractor.extract(request, |_| {}))
                .await
                .map_err(|_| {
                    AppError::bad_request(
                        "unreadable_file",
                        format!(
                            "reading the file took longer than {} s; submit it as a job",
                            CLASSIFY_TIME.as_secs()
                        ),
                    )
                })?
                .map_err(|e| AppError::bad_request("unreadable_file", e.to_string()))?;
        return Ok(extraction.extracted.text);
    }
    Err(AppError::bad_request(
        "missing_file",
        "send JSON {\"text\": …} or a multipart form with a `file` part",
    ))
}

#[utoipa::path(post, path = "/v1/reindex", tag = "classification",
    operation_id = "reindex",
    responses((status = 202, description = "A `reindex` job over all of the caller's documents", body = docket_core::Job)))]
pub async fn reindex(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let new = NewJob {
        id: None,
        user: caller.0.clone(),
        kind: JobKind::Reindex,
        options: JobOptions::default(),
        idempotency_key: None,
        items: Vec::new(),
        source: Some(serde_json::json!({"documents_of": caller.0})),
    };
    let created = state.store.create_job(new, now_millis()).await?;
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
