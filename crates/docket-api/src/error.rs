//! The one error type of the HTTP edge: everything becomes RFC 9457 problem+json with a stable
//! `code`, and nothing internal (SQL, paths, stack traces) leaks into `detail`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use docket_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> AppError {
        AppError {
            status,
            code,
            detail: detail.into(),
        }
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, code, detail)
    }
    pub fn not_found(what: &str) -> AppError {
        AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }
    pub fn unauthorized(detail: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn internal() -> AppError {
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }
    pub fn unavailable() -> AppError {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database is busy or unreachable; try again shortly",
        )
    }
}

fn title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("https://docket.dev/problems/{}", self.code.replace('_', "-")),
            "title": title(self.status),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not read: the connection cannot carry another request.
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::NotFound => AppError::not_found("resource"),
            StoreError::Rule(rule) => {
                AppError::new(StatusCode::CONFLICT, "conflict", rule.to_string())
            }
            StoreError::Invalid(m) => AppError::bad_request("invalid_request", m),
            e if e.is_transient() => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::unavailable()
            }
            e => {
                tracing::error!(error = %e, "store error");
                AppError::internal()
            }
        }
    }
}

impl From<docket_blobs::BlobError> for AppError {
    fn from(e: docket_blobs::BlobError) -> AppError {
        match e {
            docket_blobs::BlobError::TooLarge { limit } => AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the upload exceeds the limit of {limit} bytes"),
            ),
            docket_blobs::BlobError::Upload(m) => AppError::bad_request(
                "upload_interrupted",
                format!("the upload was interrupted: {m}"),
            ),
            docket_blobs::BlobError::NotFound(_) => AppError::not_found("file"),
            e => {
                tracing::error!(error = %e, "blob store error");
                AppError::unavailable()
            }
        }
    }
}

pub type ApiResult<T> = Result<T, AppError>;
