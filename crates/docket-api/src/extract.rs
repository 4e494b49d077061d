//! Extractors whose rejections are problem+json like every other error.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use docket_core::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(q)) => Ok(ApiQuery(q)),
            Err(e) => Err(AppError::new(ErrorCode::InvalidQuery, e.body_text())),
        }
    }
}

/// A JSON body; a malformed one is a 400 problem, not axum's plain-text rejection.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            // Well-formed JSON that means nothing valid (a missing or unknown field, a value
            // out of its set) is a request error, not a syntax error.
            Err(JsonRejection::JsonDataError(e)) => {
                Err(AppError::new(ErrorCode::InvalidRequest, e.body_text()))
            }
            Err(e) => Err(AppError::new(ErrorCode::MalformedJson, e.body_text())),
        }
    }
}
