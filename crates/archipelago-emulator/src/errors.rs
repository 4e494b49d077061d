//! The one error shape every `/jsonapi` answer uses: a JSON:API error document.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The media type of JSON:API requests and answers.
pub const JSONAPI: &str = "application/vnd.api+json";

/// An error answered as `{"errors": [{"title", "status", "detail", "source"?}]}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    pointer: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            pointer: None,
            headers: Vec::new(),
        }
    }

    /// A 422 about one attribute, the way Drupal words entity validation errors.
    pub fn invalid_attribute(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field}: {message}"),
        )
        .pointer(format!("/data/attributes/{field}"))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_str(),
            "detail": self.detail,
        });
        if let Some(pointer) = self.pointer {
            error["source"] = json!({ "pointer": pointer });
        }
        let body = json!({ "jsonapi": { "version": "1.0" }, "errors": [error] }).to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSONAPI));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}
