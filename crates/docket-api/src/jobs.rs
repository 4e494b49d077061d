use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use docket_core::{now_millis, ItemState, Job, JobKind, JobState, PauseReason};
use docket_store::{ItemQuery, JobQuery};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::ApiQuery;
use crate::AppState;
use docket_core::Item;
use docket_store::Page;

/// The caller's job, or 404 (also for another user's job: ids are not secrets, but whether
/// someone else's job exists is none of the caller's business).
pub(crate) async fn owned_job(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Job> {
    if id.parse::<docket_core::JobId>().is_err() {
        return Err(AppError::not_found("job"));
    }
    let job = match state.jobs.get(id) {
        Some(job) => Some(job),
        None => {
            let job = state.store.get_job(id, now_millis()).await?;
            if let Some(job) = &job {
                state.jobs.put(job);
            }
            job
        }
    };
    match job {
        Some(job) if job.user == caller.0 => Ok(job),
        _ => Err(AppError::not_found("job")),
    }
}

/// Reads a job fresh from the database (for actions whose answer must reflect their effect).
async fn fresh(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Job> {
    state.jobs.forget(id);
    owned_job(state, caller, id).await
}

fn parse<T: std::str::FromStr>(what: &'static str, value: Option<&str>) -> ApiResult<Option<T>> {
    value
        .map(|v| {
            v.parse::<T>().map_err(|_| {
                AppError::bad_request("invalid_query", format!("unknown {what} `{v}`"))
            })
        })
        .transpose()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
    kind: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<Job>>> {
    let query = JobQuery {
        user: Some(caller.0),
        state: parse::<JobState>("state", q.state.as_deref())?,
        kind: parse::<JobKind>("kind", q.kind.as_deref())?,
        limit: q.limit.unwrap_or(50),
        cursor: q.cursor,
    };
    let page = state.store.list_jobs(&query, now_millis()).await?;
    Ok(Json(page))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    Ok(Json(owned_job(&state, &caller, &id).await?))
}

pub async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    fresh(&state, &caller, &id).await?;
    let job = state
        .store
        .pause_job(&id, PauseReason::User, now_millis())
        .await?;
    state.jobs.put(&job);
    Ok(Json(job))
}

pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    fresh(&state, &caller, &id).await?;
    let job = state.store.resume_job(&id, now_millis()).await?;
    state.jobs.put(&job);
    state.wake_engine();
    Ok(Json(job))
}

pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    fresh(&state, &caller, &id).await?;
    let job = state.store.cancel_job(&id, now_millis()).await?;
    state.jobs.put(&job);
    Ok(Json(job))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    fresh(&state, &caller, &id).await?;
    state.store.delete_job(&id).await?;
    state.jobs.forget(&id);
    if let Err(e) = state.blobs.delete_prefix(&format!("uploads/{id}")).await {
        // The job is gone; stray files are logged, and the retention sweep retries nothing, so
        // say so loudly.
        tracing::error!(job = %id, error = %e, "deleting the job's uploads failed");
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    state: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn items(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ItemsQuery>,
) -> ApiResult<Json<Page<Item>>> {
    owned_job(&state, &caller, &id).await?;
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| AppError::bad_request("invalid_cursor", "malformed cursor"))?,
        ),
    };
    let query = ItemQuery {
        state: parse::<ItemState>("state", q.state.as_deref())?,
        limit: q.limit.unwrap_or(50),
        after,
    };
    let page = state.store.list_items(&id, &query).await?;
    Ok(Json(page))
}
