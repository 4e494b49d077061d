//! The layers in front of every `/jsonapi` route: the request log, faults, read-only mode.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::connection::ConnectionHandle;
use crate::errors::ApiError;
use crate::faults::Verdict;
use crate::site::SharedSite;

/// Logs the request on arrival and its status once answered (a reset leaves it `None`).
pub(crate) async fn log_request(
    State(site): State<SharedSite>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let index = site
        .store()
        .log_request(request.method().as_str().to_owned(), path);
    let response = next.run(request).await;
    site.store().log_status(index, response.status().as_u16());
    response
}

/// Applies the injected faults: delay first, then outage, resets, failures.
pub(crate) async fn apply_faults(
    State(site): State<SharedSite>,
    request: Request,
    next: Next,
) -> Response {
    let delay = site.faults.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let path = request
        .uri()
        .path_and_query()
        .map_or(request.uri().path(), |p| p.as_str());
    match site.faults.judge(path) {
        Verdict::Pass => next.run(request).await,
        Verdict::Reset => reset(request.extensions().get::<ConnectionHandle>().cloned()).await,
        Verdict::ResetAfter => {
            let connection = request.extensions().get::<ConnectionHandle>().cloned();
            let _lost = next.run(request).await;
            reset(connection).await
        }
        Verdict::Fail {
            status,
            retry_after_secs,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut error = ApiError::new(status, "Injected by the emulator.");
            if let Some(seconds) = retry_after_secs {
                error = error.header(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            error.into_response()
        }
    }
}

async fn reset(connection: Option<ConnectionHandle>) -> Response {
    match connection {
        Some(connection) => {
            connection.reset();
            // The connection task drops this future together with the connection.
            std::future::pending::<Response>().await
        }
        None => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Connection reset.").into_response(),
    }
}

/// `jsonapi.settings read_only: true`: writes answer 405, as Drupal's route filter does.
pub(crate) async fn refuse_writes_when_read_only(
    State(site): State<SharedSite>,
    request: Request,
    next: Next,
) -> Response {
    let write = matches!(
        *request.method(),
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    );
    if site.config.read_only && write {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "JSON:API is configured to accept only read operations. Site administrators can \
             configure this at /admin/config/services/jsonapi.",
        )
        .into_response();
    }
    next.run(request).await
}
