//! A user's category rules (`/v1/categories`): list, create, show, replace, delete.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_classify::{validate_rule, Algorithm, CategoryRule};
use docket_core::{now_millis, ErrorCode};
use docket_store::Category;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::AppState;

/// A category rule as sent by a client.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "invoices", "algorithm": "any", "pattern": "invoice receipt"}))]
pub struct CategoryBody {
    name: String,
    /// `any`, `all`, `literal`, `regex`, `fuzzy` or `auto`.
    #[schema(value_type = crate::openapi::CategoryAlgorithm)]
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
        AppError::new(
            ErrorCode::InvalidCategory,
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
    validate_rule(&rule).map_err(|e| AppError::new(ErrorCode::InvalidCategory, e.to_string()))?;
    Ok(docket_store::CategoryRule {
        name: rule.name,
        algorithm: body.algorithm,
        pattern: body.pattern,
        case_insensitive: body.case_insensitive,
    })
}

fn conflict(e: docket_store::StoreError) -> AppError {
    match e {
        docket_store::StoreError::Conflict(m) => AppError::new(ErrorCode::CategoryExists, m),
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
