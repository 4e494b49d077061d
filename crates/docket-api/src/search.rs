//! `GET /v1/search`: ranked full-text search with highlighted snippets, in the database itself.

use axum::extract::State;
use axum::Json;
use docket_store::{SearchQuery, SearchResults};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::ApiQuery;
use crate::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    q: Option<String>,
    category: Option<String>,
    job: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<Json<SearchResults>> {
    let q = p.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(AppError::bad_request(
            "invalid_query",
            "`q` (the words to search for) is required",
        ));
    }
    if q.len() > 1000 {
        return Err(AppError::bad_request(
            "invalid_query",
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
