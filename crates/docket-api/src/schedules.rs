//! `/v1/schedules`: recurring jobs. Checked when saved as a submit would be (cron, time zone,
//! the job's kind, source and options); each tick's job is made by the `scheduler` service.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_core::{now_millis, Schedule, ScheduleChange, ScheduleRequest};
use docket_store::Page;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size (default 50, at most 100).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Documentation only: handlers take `Path<String>`.
pub struct SchedulePath {
    /// A schedule id (`sch_…`).
    id: String,
}

/// The caller's schedules, oldest first, each with its latest runs.
#[utoipa::path(get, path = "/v1/schedules", tag = "schedules", operation_id = "list_schedules",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of schedules", body = Page<Schedule>),
        (status = 400, description = "Malformed query"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<Schedule>>> {
    let limit = q
        .limit
        .unwrap_or(50)
        .clamp(1, docket_app::SCHEDULES_PAGE_MAX);
    // The cursor is the last id of the page before: ids are opaque and sort by creation.
    let items = state
        .schedules()
        .list(&caller.0, q.cursor.as_deref(), limit)
        .await?;
    let next_cursor = (items.len() == limit as usize)
        .then(|| items.last().map(|s| s.id.clone()))
        .flatten();
    Ok(Json(Page { items, next_cursor }))
}

/// Creates a schedule: every tick of `cron` in `timezone` submits `job`, exactly once however
/// many processes run.
#[utoipa::path(post, path = "/v1/schedules", tag = "schedules", operation_id = "create_schedule",
    request_body = ScheduleRequest,
    responses(
        (status = 201, description = "Created; `Location` names it", body = Schedule),
        (status = 400, description = "Invalid cron, time zone, job kind, source or options (the detail names the field)"),
        (status = 403, description = "The job's folder is not under an allowed root"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ScheduleRequest>,
) -> ApiResult<Response> {
    let schedule = state
        .schedules()
        .create(&caller.0, body, now_millis())
        .await?;
    let location = format!("/v1/schedules/{}", schedule.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(schedule),
    )
        .into_response())
}

/// One schedule: its cadence, its job, its next and last run, and the jobs it made.
#[utoipa::path(get, path = "/v1/schedules/{id}", tag = "schedules", operation_id = "show_schedule",
    params(SchedulePath),
    responses(
        (status = 200, description = "The schedule", body = Schedule),
        (status = 404, description = "No such schedule"),
    ))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Schedule>> {
    Ok(Json(state.schedules().get(&caller.0, &id).await?))
}

/// Changes a schedule; `{"enabled": false}` pauses it, `{"enabled": true}` resumes it from
/// its next tick.
#[utoipa::path(patch, path = "/v1/schedules/{id}", tag = "schedules", operation_id = "change_schedule",
    params(SchedulePath), request_body = ScheduleChange,
    responses(
        (status = 200, description = "The changed schedule", body = Schedule),
        (status = 400, description = "Invalid value (the detail names the field) or nothing to change"),
        (status = 403, description = "The job's folder is not under an allowed root"),
        (status = 404, description = "No such schedule"),
    ))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScheduleChange>,
) -> ApiResult<Json<Schedule>> {
    Ok(Json(
        state
            .schedules()
            .change(&caller.0, &id, body, now_millis())
            .await?,
    ))
}

/// Deletes a schedule and its run history; the jobs it made stay.
#[utoipa::path(delete, path = "/v1/schedules/{id}", tag = "schedules", operation_id = "delete_schedule",
    params(SchedulePath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such schedule"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.schedules().delete(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
