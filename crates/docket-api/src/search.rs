//! `GET /v1/search`: ranked full-text search with highlighted snippets, in the database itself.

use axum::extract::State;
use axum::Json;
use docket_core::ErrorCode;
use docket_store::{SearchQuery, SearchResults};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::ApiQuery;
use crate::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// The words to search for (required, at most 1000 characters).
    #[param(value_type = String, required = true, min_length = 1, max_length = 1000, pattern = r"\S")]
    q: Option<String>,
    /// Only documents of this category.
    category: Option<String>,
    /// Only documents of this job.
    job: Option<String>,
    /// At most this many hits (default 20).
    limit: Option<usize>,
    /// Skip this many hits (default 0).
    offset: Option<usize>,
}

/// Ranked full-text search over the caller's documents, with highlighted snippets.
#[utoipa::path(get, path = "/v1/search", tag = "search", operation_id = "search",
    params(Params),
    responses(
        (status = 200, description = "The hits, best first", body = SearchResults),
        (status = 400, description = "`q` missing, blank or too long; malformed query"),
    ))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<Json<SearchResults>> {
    let q = p.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(AppError::new(
            ErrorCode::InvalidQuery,
            "`q` (the words to search for) is required",
        ));
    }
    if q.len() > 1000 {
        return Err(AppError::new(
            ErrorCode::InvalidQuery,
            "`q` is limited to 1000 characters",
        ));
    }
    let query = SearchQuery {
        user: caller.0,
        q,
        category: p.category,
        job_id: p.job,
        limit: p.limit.unwrap_or(20),
        offset: p.offset.unwrap_or(0).min(100_000),
    };
    Ok(Json(state.store.search(&query).await?))
}
