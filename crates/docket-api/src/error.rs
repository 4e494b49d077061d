//! The one error type of the HTTP edge: everything becomes RFC 9457 problem+json with a stable
//! `code`, and nothing internal (SQL, paths, stack traces) leaks into `detail`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use docket_core::ErrorCode;
use docket_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub detail: String,
}

impl AppError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> AppError {
        AppError {
            code,
            detail: detail.into(),
        }
    }
    /// The HTTP status, which the code decides.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
    pub fn not_found(what: &str) -> AppError {
        AppError::new(ErrorCode::NotFound, format!("no such {what}"))
    }
    pub fn unauthorized(detail: impl Into<String>) -> AppError {
        AppError::new(ErrorCode::Unauthorized, detail)
    }
    pub fn internal() -> AppError {
        AppError::new(
            ErrorCode::Internal,
            "something went wrong on our side; it has been logged",
        )
    }
    pub fn unavailable() -> AppError {
        AppError::new(
            ErrorCode::Unavailable,
            "the database is busy or unreachable; try again shortly",
        )
    }
}

fn title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({
            "type": format!("https://docket.dev/problems/{}", self.code.as_str().replace('_', "-")),
            "title": title(status),
            "status": status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not read: the connection cannot carry another request.
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
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
            StoreError::Rule(rule) => AppError::new(ErrorCode::Conflict, rule.to_string()),
            StoreError::Invalid(m) => AppError::new(ErrorCode::InvalidRequest, m),
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
                ErrorCode::PayloadTooLarge,
                format!("the upload exceeds the limit of {limit} bytes"),
            ),
            docket_blobs::BlobError::Upload(m) => AppError::new(
                ErrorCode::UploadInterrupted,
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

impl From<docket_app::ServiceError> for AppError {
    fn from(e: docket_app::ServiceError) -> AppError {
        match e {
            docket_app::ServiceError::Refused { code, detail } => AppError::new(code, detail),
            docket_app::ServiceError::Store(e) => e.into(),
            docket_app::ServiceError::Blobs(e) => e.into(),
            docket_app::ServiceError::Export(e) => {
                tracing::error!(error = %e, "export failed");
                AppError::internal()
            }
        }
    }
}

pub type ApiResult<T> = Result<T, AppError>;
