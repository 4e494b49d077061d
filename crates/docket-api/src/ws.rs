//! Live progress over WebSocket: the same news as the SSE streams (`events.rs` reads it, this
//! file only frames it), one JSON text message per event:
//! `{"event":"job","data":JOB}`, `{"event":"item","id":CURSOR,"data":ITEM}`,
//! `{"event":"end","data":JOB_ID}` (then a normal close). `?after=CURSOR` (an item event's
//! `id`) resumes exactly where a dropped connection stopped. Authenticated by the bearer
//! header or, for browsers, a `?ticket=` from `POST /v1/ws-tickets`.

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use docket_core::{now_millis, ErrorCode};
use docket_store::ChangeCursor;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::events::{job_feed, jobs_feed, parse_cursor, FeedEvent};
use crate::extract::ApiQuery;
use crate::jobs::owned_job;
use crate::AppState;

/// Pings keep idle connections (and the proxies between) open.
const PING: Duration = Duration::from_secs(15);

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// Resume after this item event (its `id`).
    after: Option<String>,
    /// A ticket from `POST /v1/ws-tickets`, for clients that cannot send a header.
    #[allow(dead_code)] // Read by `WsCaller`; named here so that the query is documented.
    ticket: Option<String>,
}

/// The caller of a WebSocket request: the bearer header (already checked by the rate
/// limiter), else the `?ticket=`.
pub struct WsCaller(Caller);

#[derive(Deserialize)]
struct TicketOnly {
    ticket: Option<String>,
}

impl FromRequestParts<AppState> for WsCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let has_header = parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION);
        let ticket = Query::<TicketOnly>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(t)| t.ticket);
        match ticket {
            Some(ticket) if !has_header => {
                crate::ws_tickets::verify(&state.config.ws_ticket_key, &ticket, now_millis())
                    .map(|user| WsCaller(Caller(user)))
                    .ok_or_else(|| AppError::unauthorized("the ticket is unknown or expired"))
            }
            _ => Ok(WsCaller(Caller::from_request_parts(parts, state).await?)),
        }
    }
}

type Upgrade = Result<WebSocketUpgrade, WebSocketUpgradeRejection>;

fn upgrade(upgrade: Upgrade) -> ApiResult<WebSocketUpgrade> {
    upgrade.map_err(|e| AppError::new(ErrorCode::InvalidRequest, e.body_text()))
}

fn frame(event: FeedEvent) -> String {
    match event {
        FeedEvent::Job(snapshot) => format!(r#"{{"event":"job","data":{snapshot}}}"#),
        FeedEvent::Item { cursor, item } => {
            let id = serde_json::Value::String(cursor);
            format!(r#"{{"event":"item","id":{id},"data":{item}}}"#)
        }
        FeedEvent::End(id) => {
            let id = serde_json::Value::String(id);
            format!(r#"{{"event":"end","data":{id}}}"#)
        }
    }
}

/// Sends the feed until it ends (a normal close) or the client goes away.
async fn pump(mut socket: WebSocket, mut feed: mpsc::Receiver<FeedEvent>) {
    let mut ping = tokio::time::interval(PING);
    ping.tick().await;
    loop {
        tokio::select! {
            event = feed.recv() => {
                let Some(event) = event else { break };
                let end = matches!(event, FeedEvent::End(_));
                if socket.send(Message::Text(Utf8Bytes::from(frame(event)))).await.is_err() {
                    return;
                }
                if end {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                // The client closed or the connection broke: stop reading the database.
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: axum::extract::ws::close_code::NORMAL,
            reason: Utf8Bytes::from_static("job finished"),
        })))
        .await;
}

/// `GET /v1/jobs/{id}/ws`: a job's news over WebSocket.
#[utoipa::path(get, path = "/v1/jobs/{id}/ws", tag = "events", operation_id = "job_ws",
    params(crate::openapi::JobPath, WsQuery),
    responses(
        (status = 101, description = "WebSocket: JSON text messages `{event: job|item|end, \
            id?, data}`, the same events as `/v1/jobs/{id}/events`"),
        (status = 400, description = "`after` is not a cursor this feed sent, or not a \
            WebSocket request"),
        (status = 401, description = "No token and no valid ticket"),
        (status = 404, description = "No such job"),
    ))]
pub async fn job_ws(
    State(state): State<AppState>,
    WsCaller(caller): WsCaller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<WsQuery>,
    ws: Upgrade,
) -> ApiResult<Response> {
    let job = owned_job(&state, &caller, &id).await?;
    let cursor = match q.after.as_deref() {
        None => ChangeCursor::default(),
        Some(after) => parse_cursor(after).ok_or_else(|| {
            AppError::new(
                ErrorCode::InvalidQuery,
                "`after` must be the id of an item event this feed sent",
            )
        })?,
    };
    Ok(upgrade(ws)?.on_upgrade(move |socket| pump(socket, job_feed(state, job.id, cursor))))
}

/// `GET /v1/ws`: every job of the caller over WebSocket, as `/v1/events`.
#[utoipa::path(get, path = "/v1/ws", tag = "events", operation_id = "all_jobs_ws",
    params(WsQuery),
    responses(
        (status = 101, description = "WebSocket: a JSON text message `{event: job, data}` \
            whenever one of the caller's jobs changes"),
        (status = 400, description = "Not a WebSocket request"),
        (status = 401, description = "No token and no valid ticket"),
    ))]
pub async fn all_ws(
    State(state): State<AppState>,
    WsCaller(caller): WsCaller,
    ApiQuery(q): ApiQuery<WsQuery>,
    ws: Upgrade,
) -> ApiResult<Response> {
    if q.after.is_some() {
        return Err(AppError::new(
            ErrorCode::InvalidQuery,
            "`after` resumes the feed of one job (`/v1/jobs/{id}/ws`)",
        ));
    }
    Ok(upgrade(ws)?.on_upgrade(move |socket| pump(socket, jobs_feed(state, caller.0))))
}
