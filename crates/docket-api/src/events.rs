//! Live progress as Server-Sent Events.
//!
//! Both streams read the database, not an in-process channel, so progress made by a worker in
//! another process reaches every API process. Item changes are numbered in the database
//! (`Store::item_changes`), which is what makes `Last-Event-ID` resumption exact: a client
//! that reconnects with the id of the last event it saw gets every item change after it.

use docket_core::ErrorCode;
use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, KeepAliveStream, Sse};
use docket_core::now_millis;
use docket_store::{ChangeCursor, JobQuery};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::jobs::owned_job;
use crate::AppState;

/// How often a stream looks for news. Snapshots go out at most this often, per job.
const POLL: Duration = Duration::from_millis(250);
/// The all-jobs stream polls less often: it is a list, not a progress bar.
const LIST_POLL: Duration = Duration::from_millis(500);
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Item changes read per query.
const CHANGES_PAGE: usize = 500;
/// Jobs shown by the all-jobs stream: the newest unfinished or recently changed ones.
const LIVE_JOBS: usize = 200;
/// On connect, the all-jobs stream also sends jobs that finished this recently.
const RECENT_MS: i64 = 10 * 60 * 1000;
/// Rows are stamped with the writer's clock, and a transaction may commit a little after the
/// time it wrote: look back this far on every poll so such a change is not missed.
const CLOCK_SLACK_MS: i64 = 5_000;

type EventStream =
    Sse<KeepAliveStream<futures::stream::BoxStream<'static, Result<Event, Infallible>>>>;

/// One piece of news, as the feeds read it from the database; each transport (SSE here, the
/// WebSocket in `ws.rs`) frames it its own way.
pub(crate) enum FeedEvent {
    /// A job snapshot, already serialised (for change detection).
    Job(String),
    /// An item change: its cursor (the SSE id, `?after=` of the WebSocket) and the item.
    Item { cursor: String, item: String },
    /// The job is finished and every change was sent.
    End(String),
}

impl FeedEvent {
    fn into_sse(self) -> Event {
        match self {
            FeedEvent::Job(snapshot) => Event::default().event("job").data(snapshot),
            FeedEvent::Item { cursor, item } => {
                Event::default().event("item").data(item).id(cursor)
            }
            FeedEvent::End(id) => Event::default().event("end").data(id),
        }
    }
}

fn into_sse(rx: mpsc::Receiver<FeedEvent>) -> EventStream {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event.into_sse()), rx))
    })
    .boxed();
    Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("ping"))
}

/// A `job` event from the snapshot already serialised for change detection.
fn job_event(snapshot: &str) -> FeedEvent {
    FeedEvent::Job(snapshot.to_string())
}

/// Parses a cursor a client hands back (`Last-Event-ID`, `?after=`).
pub(crate) fn parse_cursor(value: &str) -> Option<ChangeCursor> {
    value.parse::<ChangeCursor>().ok()
}

/// `GET /v1/jobs/{id}/events`: `job` snapshots when the job changed (at most a few per second),
/// an `item` event per item state change (with an id for `Last-Event-ID`), and `end` once the
/// job is finished and every change was sent.
#[utoipa::path(get, path = "/v1/jobs/{id}/events", tag = "events", operation_id = "job_events",
    params(
        crate::openapi::JobPath,
        ("Last-Event-ID" = Option<String>, Header,
            description = "Resume after this event (the `id` of an `item` event)"),
    ),
    responses(
        (status = 200, description = "Server-Sent Events: `job` (a Job), `item` (an Item, \
            with an id), `end` (the job id); `ping` comments keep the connection open",
            body = String, content_type = "text/event-stream"),
        (status = 400, description = "Last-Event-ID is not an id this stream sent"),
        (status = 404, description = "No such job"),
    ))]
pub async fn job_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<EventStream> {
    let job = owned_job(&state, &caller, &id).await?;
    let cursor = match headers.get("last-event-id") {
        None => ChangeCursor::default(),
        Some(value) => value.to_str().ok().and_then(parse_cursor).ok_or_else(|| {
            AppError::new(
                ErrorCode::InvalidLastEventId,
                "Last-Event-ID must be the id of an event this stream sent",
            )
        })?,
    };
    Ok(into_sse(job_feed(state, job.id, cursor)))
}

/// The news of one job from `cursor` on, read by a task of its own until the job is finished
/// or the receiver is dropped.
pub(crate) fn job_feed(
    state: AppState,
    id: String,
    cursor: ChangeCursor,
) -> mpsc::Receiver<FeedEvent> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(follow_job(state, id, cursor, tx));
    rx
}

/// The news of every job of `user`, read by a task of its own until the receiver is dropped.
pub(crate) fn jobs_feed(state: AppState, user: String) -> mpsc::Receiver<FeedEvent> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(follow_jobs(state, user, tx));
    rx
}

/// Sends a job's news until it is finished or the client goes away (a failed send).
async fn follow_job(
    state: AppState,
    id: String,
    mut cursor: ChangeCursor,
    tx: mpsc::Sender<FeedEvent>,
) {
    let mut last_snapshot: Option<String> = None;
    loop {
        // The job first, then its items: if the job was finished when read, every item change
        // it depends on is already committed and the item query below sees it.
        // Through the snapshot cache: many watchers of one job cost one read per 100 ms.
        let job = match crate::jobs::cached_job(&state, &id).await {
            Ok(Some(job)) => job,
            Ok(None) => break, // deleted while watched
            Err(e) => {
                tracing::warn!(job = %id, "event stream: reading the job failed: {e:?}");
                tokio::time::sleep(POLL * 4).await;
                continue;
            }
        };
        loop {
            let changes = match state.store.item_changes(&id, cursor, CHANGES_PAGE).await {
                Ok(changes) => changes,
                Err(e) => {
                    tracing::warn!(job = %id, "event stream: reading changes failed: {e}");
                    break;
                }
            };
            let full = changes.len() == CHANGES_PAGE;
            for change in changes {
                let Ok(item) = serde_json::to_string(&change.item) else {
                    continue;
                };
                let event = FeedEvent::Item {
                    cursor: change.cursor.to_string(),
                    item,
                };
                if tx.send(event).await.is_err() {
                    return;
                }
                cursor = change.cursor;
            }
            if !full {
                break;
            }
        }
        let snapshot = serde_json::to_string(&job).unwrap_or_default();
        if last_snapshot.as_deref() != Some(snapshot.as_str()) {
            if tx.send(job_event(&snapshot)).await.is_err() {
                return;
            }
            last_snapshot = Some(snapshot);
        }
        if job.state.is_finished() {
            let _ = tx.send(FeedEvent::End(job.id.clone())).await;
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = tx.closed() => return,
        }
    }
}

/// `GET /v1/events`: a `job` event for each of the caller's jobs whenever it changes; on
/// connect, every unfinished job and those finished in the last ten minutes.
#[utoipa::path(get, path = "/v1/events", tag = "events", operation_id = "all_events",
    responses(
        (status = 200, description = "Server-Sent Events: `job` (a Job) whenever one of the \
            caller's jobs changes", body = String, content_type = "text/event-stream"),
    ))]
pub async fn all_events(State(state): State<AppState>, caller: Caller) -> ApiResult<EventStream> {
    Ok(into_sse(jobs_feed(state, caller.0)))
}

async fn follow_jobs(state: AppState, user: String, tx: mpsc::Sender<FeedEvent>) {
    let mut sent: HashMap<String, String> = HashMap::new();
    let mut since = now_millis() - RECENT_MS;
    loop {
        let polled_at = now_millis();
        let query = JobQuery {
            user: Some(user.clone()),
            limit: LIVE_JOBS,
            live_since: Some(since),
            ..JobQuery::default()
        };
        match state.store.list_jobs(&query, polled_at).await {
            Ok(page) => {
                let mut seen = HashMap::with_capacity(page.items.len());
                // Oldest first, so a client that appends builds the list in order.
                for job in page.items.into_iter().rev() {
                    let snapshot = serde_json::to_string(&job).unwrap_or_default();
                    if sent.get(&job.id) != Some(&snapshot)
                        && tx.send(job_event(&snapshot)).await.is_err()
                    {
                        return;
                    }
                    seen.insert(job.id, snapshot);
                }
                // A job that dropped out of the view is finished and its last state was sent.
                sent = seen;
                since = polled_at - CLOCK_SLACK_MS;
            }
            Err(e) => tracing::warn!("event stream: listing jobs failed: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(LIST_POLL) => {}
            _ = tx.closed() => return,
        }
    }
}
