use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use docket_core::ErrorCode;
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
    match cached_job(state, id).await? {
        Some(job) if job.user == caller.0 => Ok(job),
        _ => Err(AppError::not_found("job")),
    }
}

/// A job from this process's snapshot cache (at most 100 ms old), else from the database.
pub(crate) async fn cached_job(state: &AppState, id: &str) -> ApiResult<Option<Job>> {
    if let Some(job) = state.jobs.get(id) {
        return Ok(Some(job));
    }
    let job = state.store.get_job(id, now_millis()).await?;
    if let Some(job) = &job {
        state.jobs.put(job);
    }
    Ok(job)
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
                AppError::new(ErrorCode::InvalidQuery, format!("unknown {what} `{v}`"))
            })
        })
        .transpose()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only jobs in this state.
    #[param(value_type = Option<JobState>)]
    state: Option<String>,
    /// Only jobs of this kind.
    #[param(value_type = Option<JobKind>)]
    kind: Option<String>,
    /// Page size (default 50).
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The caller's jobs, newest first.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", operation_id = "list_jobs",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of jobs", body = Page<Job>),
        (status = 400, description = "Unknown filter value or malformed query"),
    ))]
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
        live_since: None,
    };
    let page = state.store.list_jobs(&query, now_millis()).await?;
    Ok(Json(page))
}

/// One job: state, counts, progress, throughput, ETA, current items, pause reason, error,
/// result.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", operation_id = "show_job",
    params(crate::openapi::JobPath),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 404, description = "No such job"),
    ))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    Ok(Json(owned_job(&state, &caller, &id).await?))
}

/// Pauses a job: items in flight finish their current stage, nothing new starts.
#[utoipa::path(post, path = "/v1/jobs/{id}/pause", tag = "jobs", operation_id = "pause_job",
    params(crate::openapi::JobPath),
    responses(
        (status = 200, description = "The job in its new state", body = Job),
        (status = 404, description = "No such job"),
        (status = 409, description = "The job cannot be paused (it is finished)"),
    ))]
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

/// Resumes a paused job (failed items of an auto-pause go back in line).
#[utoipa::path(post, path = "/v1/jobs/{id}/resume", tag = "jobs", operation_id = "resume_job",
    params(crate::openapi::JobPath),
    responses(
        (status = 200, description = "The job in its new state", body = Job),
        (status = 404, description = "No such job"),
        (status = 409, description = "The job is not paused"),
    ))]
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

/// Cancels a job: unfinished items are cancelled, results so far are kept.
#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", tag = "jobs", operation_id = "cancel_job",
    params(crate::openapi::JobPath),
    responses(
        (status = 200, description = "The job in its new state", body = Job),
        (status = 404, description = "No such job"),
        (status = 409, description = "The job is already finished"),
    ))]
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

/// Changes an unfinished job's `priority` and/or `max_workers` (`null` removes the cap). Claims
/// in every process follow at their next round, well within a second.
#[utoipa::path(patch, path = "/v1/jobs/{id}", tag = "jobs", operation_id = "change_job",
    params(crate::openapi::JobPath), request_body = docket_core::JobPatch,
    responses(
        (status = 200, description = "The job with its new options", body = Job),
        (status = 400, description = "Unknown field, bad value or nothing to change"),
        (status = 404, description = "No such job"),
        (status = 409, description = "The job is finished"),
    ))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    crate::extract::ApiJson(body): crate::extract::ApiJson<serde_json::Value>,
) -> ApiResult<Json<Job>> {
    let patch = docket_core::JobPatch::from_json(&body)
        .map_err(|e| AppError::new(ErrorCode::InvalidOptions, e.to_string()))?;
    fresh(&state, &caller, &id).await?;
    let job = state.store.change_job(&id, &patch, now_millis()).await?;
    state.jobs.put(&job);
    state.wake_engine();
    Ok(Json(job))
}

/// Deletes a finished job and its data (items, uploads). The job disappears at once; its data
/// is removed in the background, retried until it is gone.
#[utoipa::path(delete, path = "/v1/jobs/{id}", tag = "jobs", operation_id = "delete_job",
    params(crate::openapi::JobPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such job"),
        (status = 409, description = "The job is not finished: cancel it first"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    fresh(&state, &caller, &id).await?;
    // Marked now (gone from every read); its rows and files are removed in the background.
    state.deletion().delete(&id).await?;
    state.jobs.forget(&id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemsQuery {
    /// Only items in this state.
    #[param(value_type = Option<ItemState>)]
    state: Option<String>,
    /// Page size (default 50).
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{1,18}$")]
    cursor: Option<String>,
}

/// The job's items and their status, in submission order.
#[utoipa::path(get, path = "/v1/jobs/{id}/items", tag = "jobs", operation_id = "list_items",
    params(crate::openapi::JobPath, ItemsQuery),
    responses(
        (status = 200, description = "A page of items", body = Page<Item>),
        (status = 400, description = "Unknown state, malformed cursor or query"),
        (status = 404, description = "No such job"),
    ))]
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
                .map_err(|_| AppError::new(ErrorCode::InvalidCursor, "malformed cursor"))?,
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
