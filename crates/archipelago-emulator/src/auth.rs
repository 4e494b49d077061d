//! HTTP Basic authentication, as core `basic_auth` answers it.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;

use crate::errors::ApiError;
use crate::site::SharedSite;

/// No credentials: 401 with a Basic challenge. Wrong ones: 403.
pub(crate) async fn require_basic_auth(
    State(site): State<SharedSite>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "No authentication credentials provided.",
        )
        .header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Archipelago\""),
        ));
    };
    let authenticated = credentials(value).is_some_and(|(user, password)| {
        user == site.config.user && password == site.config.password
    });
    if !authenticated {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "The used authentication method is not allowed on this route, or the credentials are wrong.",
        ));
    }
    Ok(next.run(request).await)
}

fn credentials(value: &HeaderValue) -> Option<(String, String)> {
    let text = value.to_str().ok()?;
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}
