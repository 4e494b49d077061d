//! The dashboard at `/`: a few static files (one HTML page, a stylesheet, ES modules) compiled
//! into the binary. They talk to `/v1` like any other client, with the token the user pastes.
//!
//! Every response carries a Content-Security-Policy that allows only this origin (plus `blob:`
//! images: thumbnails are fetched with the bearer token and shown from a blob URL). The file
//! names are not content-hashed, so they are served `no-cache` with a strong ETag: a browser
//! revalidates each load and gets a bodiless 304 until the binary changes.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::AppState;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../assets/dashboard/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("publish.js", JS),
    asset!("remotes.js", JS),
    asset!("sse.js", JS),
    asset!("ws.js", JS),
    asset!("live.js", JS),
    asset!("ui.js", JS),
    asset!("jobs.js", JS),
    asset!("job.js", JS),
    asset!("upload.js", JS),
    asset!("tus.js", JS),
    asset!("search.js", JS),
    asset!("schedules.js", JS),
    asset!("document.js", JS),
];

/// Only this origin: no inline script or style, no plugins, no framing, no foreign base URL.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                   img-src 'self' blob:; connect-src 'self'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/dashboard/{file}", get(file))
}

/// The dashboard's page.
#[utoipa::path(get, path = "/", tag = "dashboard", operation_id = "dashboard", security(()),
    params(("If-None-Match" = Option<String>, Header, description = "An ETag seen before")),
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html",
            headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag"),
    ))]
async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// One of the dashboard's static files (stylesheet, scripts, icon).
#[utoipa::path(get, path = "/dashboard/{file}", tag = "dashboard", operation_id = "dashboard_file",
    security(()),
    params(
        ("file" = String, Path, description = "A file name, such as `app.js`"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag seen before"),
    ),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"),
            (String = "text/css"),
            (String = "text/html"),
            (String = "image/svg+xml"),
        ), headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag"),
        (status = 404, description = "No such file"),
    ))]
async fn file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve(&file, &headers)
}

/// A strong ETag per asset, from its bytes (computed once).
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.body)[..12])))
            .collect()
    })
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.name == name) else {
        return AppError::not_found("file").into_response();
    };
    let asset = &ASSETS[index];
    let etag = &etags()[index];
    let mut response = if not_modified(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_text(name: &str) -> &'static str {
        let asset = ASSETS.iter().find(|a| a.name == name).expect("asset");
        std::str::from_utf8(asset.body).expect("utf-8")
    }

    #[test]
    fn assets_have_types_csp_and_revalidate_by_etag() {
        let r = serve("index.html", &HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK);
        let h = r.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'"));
        assert_eq!(h[header::CACHE_CONTROL], "no-cache");
        let etag = h[header::ETAG].clone();

        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag.clone());
        let r = serve("index.html", &again);
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers()[header::ETAG], etag);

        let r = serve("app.js", &HeaderMap::new());
        assert_eq!(r.headers()[header::CONTENT_TYPE], JS);
        assert_eq!(
            serve("nope.js", &HeaderMap::new()).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            serve("../Cargo.toml", &HeaderMap::new()).status(),
            StatusCode::NOT_FOUND
        );
    }

    /// Every file the page or a module refers to is compiled in (a missing one would only
    /// show up as a blank dashboard).
    #[test]
    fn every_referenced_file_is_served() {
        let mut referenced = Vec::new();
        for asset in ASSETS {
            let Ok(text) = std::str::from_utf8(asset.body) else {
                continue;
            };
            for marker in ["/dashboard/", "from './", "import('./"] {
                for (at, _) in text.match_indices(marker) {
                    let rest = &text[at + marker.len()..];
                    let end = rest
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                        .unwrap_or(rest.len());
                    referenced.push(rest[..end].to_string());
                }
            }
        }
        assert!(referenced.iter().any(|r| r == "app.js"), "{referenced:?}");
        for name in referenced {
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "`{name}` is referenced but not served"
            );
        }
        assert!(
            !body_text("index.html").contains("<script>"),
            "no inline script"
        );
        assert!(
            !body_text("index.html").contains("style="),
            "no inline style"
        );
    }
}
