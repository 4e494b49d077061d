//! `/v1/uploads`: resumable uploads, tus 1.0 (core, creation, creation-with-upload,
//! termination, expiration, checksum with sha256). Handlers parse tus headers, call
//! [`docket_app::Resumable`] and answer with tus headers; [`tus_version`] checks
//! `Tus-Resumable` on every request and puts it on every answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use docket_app::UploadRequest;
use docket_core::ErrorCode;
use docket_store::ResumableUpload;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::AppState;

pub const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration,checksum";
const OFFSET_STREAM: &str = "application/offset+octet-stream";

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
const UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");

/// Refuses an authenticated tus request (any but `OPTIONS`) without `Tus-Resumable: 1.0.0`
/// (412, naming the version this server speaks), and marks every answer with the version. A
/// request without a valid token goes on to its handler, which answers 401: who may ask comes
/// before how they ask.
pub async fn tus_version(request: Request, next: Next) -> Response {
    let speaks = request
        .headers()
        .get(&TUS_RESUMABLE)
        .is_some_and(|v| v.as_bytes() == TUS_VERSION.as_bytes());
    let authenticated = request.extensions().get::<crate::auth::Caller>().is_some();
    // A refused POST or PATCH may leave its body unread; the connection cannot carry another
    // request then, and a client that reused it would see it drop mid-request.
    let sends_body = matches!(*request.method(), Method::POST | Method::PATCH)
        && (request
            .headers()
            .contains_key(axum::http::header::TRANSFER_ENCODING)
            || request
                .headers()
                .get(axum::http::header::CONTENT_LENGTH)
                .is_some_and(|v| v.as_bytes() != b"0"));
    let mut response = if speaks || !authenticated || request.method() == Method::OPTIONS {
        next.run(request).await
    } else {
        let mut refused = AppError::new(
            ErrorCode::TusVersionUnsupported,
            format!("send `Tus-Resumable: {TUS_VERSION}`: this server speaks tus {TUS_VERSION}"),
        )
        .into_response();
        refused
            .headers_mut()
            .insert("tus-version", HeaderValue::from_static(TUS_VERSION));
        refused
    };
    response
        .headers_mut()
        .insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    if sends_body && (response.status().is_client_error() || response.status().is_server_error()) {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            HeaderValue::from_static("close"),
        );
    }
    response
}

/// What this server supports: versions, extensions, checksum algorithms, largest upload. Public,
/// as tus discovery is: it tells nothing about anyone's uploads.
#[utoipa::path(options, path = "/v1/uploads", tag = "uploads", operation_id = "upload_options",
    security(()),
    responses((status = 204, description = "The tus capabilities", headers(
        ("Tus-Version" = String, description = "`1.0.0`"),
        ("Tus-Extension" = String,
            description = "`creation,creation-with-upload,termination,expiration,checksum`"),
        ("Tus-Checksum-Algorithm" = String, description = "`sha256`"),
        ("Tus-Max-Size" = u64, description = "Largest upload, in bytes"),
    ))))]
pub async fn options(State(state): State<AppState>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    headers.insert("tus-checksum-algorithm", HeaderValue::from_static("sha256"));
    headers.insert(
        "tus-max-size",
        HeaderValue::from(state.resumable().config().max_size),
    );
    response
}

/// Creates an upload of `Upload-Length` bytes (`Upload-Metadata`: base64 `filename`,
/// `filetype`); with a body of `application/offset+octet-stream`, its first bytes too.
/// An upload larger than the limit is refused before anything is stored.
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads", operation_id = "create_upload",
    params(
        ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
        ("Upload-Length" = u64, Header, description = "The whole file's size in bytes"),
        ("Upload-Metadata" = Option<String>, Header,
            description = "`filename BASE64,filetype BASE64`"),
    ),
    responses(
        (status = 201, description = "Created", headers(
            ("Location" = String, description = "`/v1/uploads/{id}`"),
            ("Upload-Expires" = String, description = "When it expires unless appended to"),
            ("Upload-Offset" = u64, description = "With a body: the bytes stored"),
        )),
        (status = 400, description = "A missing or invalid Upload-Length or Upload-Metadata"),
        (status = 412, description = "No `Tus-Resumable: 1.0.0`"),
        (status = 413, description = "Upload-Length exceeds Tus-Max-Size"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> ApiResult<Response> {
    let headers = request.headers();
    let length = number(headers, &UPLOAD_LENGTH)?.ok_or_else(|| {
        let detail = if headers.contains_key("upload-defer-length") {
            "this server needs Upload-Length when the upload is created"
        } else {
            "send Upload-Length: the file's size in bytes"
        };
        AppError::new(ErrorCode::InvalidRequest, detail)
    })?;
    let metadata = text(headers, &UPLOAD_METADATA)?.unwrap_or_default();
    let (name, media_type) = parse_metadata(&metadata)?;
    let with_body = is_offset_stream(headers);
    let checksum = checksum(headers)?;
    let uploads = state.resumable();
    let mut upload = uploads
        .create(
            &caller.0,
            UploadRequest {
                length,
                name,
                media_type,
                metadata,
            },
        )
        .await?;
    let mut response = StatusCode::CREATED.into_response();
    if with_body {
        let mut body = request.into_body().into_data_stream();
        match uploads
            .append(&caller.0, &upload.id, 0, &mut body, checksum)
            .await
        {
            Ok(after) => upload = after,
            // The upload exists; the client learns the offset with HEAD.
            Err(e) => {
                tracing::info!(upload = %upload.id, error = %e, "creation-with-upload stopped");
                drain(&mut body).await;
            }
        }
        put(&mut response, UPLOAD_OFFSET, upload.received.to_string());
    }
    let location = format!("/v1/uploads/{}", upload.id);
    put(&mut response, header::LOCATION, location);
    expires(&mut response, &upload);
    Ok(response)
}

/// The upload's offset (bytes received and stored) and length.
#[utoipa::path(head, path = "/v1/uploads/{id}", tag = "uploads", operation_id = "upload_offset",
    params(("id" = String, Path), ("Tus-Resumable" = String, Header, description = "`1.0.0`")),
    responses(
        (status = 200, description = "The offset", headers(
            ("Upload-Offset" = u64), ("Upload-Length" = u64), ("Upload-Metadata" = String),
            ("Upload-Expires" = String), ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 404, description = "No such upload (or another user's)"),
        (status = 410, description = "Expired or terminated"),
    ))]
pub async fn head(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let upload = state.resumable().status(&caller.0, &id).await?;
    let mut response = StatusCode::OK.into_response();
    put(&mut response, UPLOAD_OFFSET, upload.received.to_string());
    put(&mut response, UPLOAD_LENGTH, upload.length.to_string());
    if !upload.metadata.is_empty() {
        put(&mut response, UPLOAD_METADATA, upload.metadata.clone());
    }
    put(&mut response, header::CACHE_CONTROL, "no-store".to_string());
    expires(&mut response, &upload);
    Ok(response)
}

/// Appends the body at `Upload-Offset`, which must be the upload's offset. The new offset is
/// answered only once the bytes are on disk. With `Upload-Checksum: sha256 BASE64`, a body
/// that does not match is refused with 460 and nothing of it is kept.
#[utoipa::path(patch, path = "/v1/uploads/{id}", tag = "uploads", operation_id = "append_upload",
    params(
        ("id" = String, Path),
        ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
        ("Upload-Offset" = u64, Header, description = "The upload's current offset"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha256 BASE64` of the body"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Stored", headers(("Upload-Offset" = u64), ("Upload-Expires" = String))),
        (status = 400, description = "A missing Upload-Offset, or an unsupported checksum algorithm"),
        (status = 404, description = "No such upload (or another user's)"),
        (status = 409, description = "Upload-Offset is not the upload's offset"),
        (status = 410, description = "Expired or terminated"),
        (status = 413, description = "The body goes past Upload-Length"),
        (status = 415, description = "Not application/offset+octet-stream"),
        (status = 460, description = "The body does not match Upload-Checksum; nothing stored"),
    ))]
pub async fn append(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult<Response> {
    let headers = request.headers();
    if !is_offset_stream(headers) {
        return Err(AppError::new(
            ErrorCode::UnsupportedMediaType,
            format!("send the bytes as Content-Type: {OFFSET_STREAM}"),
        ));
    }
    let offset = number(headers, &UPLOAD_OFFSET)?.ok_or_else(|| {
        AppError::new(
            ErrorCode::InvalidRequest,
            "send Upload-Offset: the upload's offset",
        )
    })?;
    let checksum = checksum(headers)?;
    let mut body = request.into_body().into_data_stream();
    let appended = state
        .resumable()
        .append(&caller.0, &id, offset, &mut body, checksum)
        .await;
    let upload = match appended {
        Ok(upload) => upload,
        Err(e) => {
            drain(&mut body).await;
            return Err(e.into());
        }
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    put(&mut response, UPLOAD_OFFSET, upload.received.to_string());
    expires(&mut response, &upload);
    Ok(response)
}

/// Most of a refused body read and dropped before the refusal is answered.
const DRAIN_LIMIT_BYTES: u64 = 64 << 20;
/// Longest a refusal waits for the rest of its body.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Reads and drops what a refused request still sends (a stale offset is refused before its
/// body is read), within limits: a server that closes a connection holding unread bytes resets
/// it, and the client then sees a broken pipe in the middle of its upload instead of the 409
/// that tells it to ask for the offset.
async fn drain(body: &mut axum::body::BodyDataStream) {
    use futures::StreamExt as _;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut read = 0u64;
        while let Some(Ok(chunk)) = body.next().await {
            read += chunk.len() as u64;
            if read > DRAIN_LIMIT_BYTES {
                break;
            }
        }
    })
    .await;
}

/// Terminates the upload: every later request answers 404 or 410, its bytes are removed.
#[utoipa::path(delete, path = "/v1/uploads/{id}", tag = "uploads", operation_id = "terminate_upload",
    params(("id" = String, Path), ("Tus-Resumable" = String, Header, description = "`1.0.0`")),
    responses(
        (status = 204, description = "Terminated"),
        (status = 404, description = "No such upload (or another user's)"),
        (status = 409, description = "The upload was submitted; delete its job instead"),
        (status = 410, description = "Expired or terminated already"),
    ))]
pub async fn terminate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.resumable().terminate(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn put(response: &mut Response, name: HeaderName, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(name, value);
    }
}

/// `Upload-Expires` (an HTTP date) while the upload can still expire.
fn expires(response: &mut Response, upload: &ResumableUpload) {
    if upload.job_id.is_some() {
        return;
    }
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(upload.expires_at).unwrap_or(0));
    let at = at.max(SystemTime::UNIX_EPOCH);
    put(response, UPLOAD_EXPIRES, httpdate::fmt_http_date(at));
}

fn is_offset_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(OFFSET_STREAM))
}

fn text(headers: &HeaderMap, name: &HeaderName) -> ApiResult<Option<String>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str().map(|s| s.trim().to_string()).map_err(|_| {
                AppError::new(
                    ErrorCode::InvalidRequest,
                    format!("{name} is not visible ASCII"),
                )
            })
        })
        .transpose()
}

/// A header holding a non-negative integer.
fn number(headers: &HeaderMap, name: &HeaderName) -> ApiResult<Option<u64>> {
    text(headers, name)?
        .map(|v| {
            v.parse::<u64>()
                .ok()
                .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    AppError::new(
                        ErrorCode::InvalidRequest,
                        format!("{name} must be a non-negative integer, not `{v}`"),
                    )
                })
        })
        .transpose()
}

/// `Upload-Checksum: sha256 BASE64`: the body's SHA-256.
fn checksum(headers: &HeaderMap) -> ApiResult<Option<[u8; 32]>> {
    let Some(value) = text(headers, &UPLOAD_CHECKSUM)? else {
        return Ok(None);
    };
    let (algorithm, digest) = value.split_once(' ').unwrap_or((value.as_str(), ""));
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return Err(AppError::new(
            ErrorCode::InvalidRequest,
            format!("checksum algorithm `{algorithm}` is not supported; use sha256"),
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(digest.trim())
        .ok()
        .and_then(|d| <[u8; 32]>::try_from(d).ok())
        .map(Some)
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::InvalidRequest,
                "Upload-Checksum must be `sha256` and the base64 of 32 bytes",
            )
        })
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent).
/// Answers `filename` and `filetype`; other keys are kept only as sent.
fn parse_metadata(raw: &str) -> ApiResult<(Option<String>, Option<String>)> {
    let bad = |detail: String| AppError::new(ErrorCode::InvalidRequest, detail);
    let mut seen = std::collections::HashSet::new();
    let (mut name, mut media_type) = (None, None);
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        if !seen.insert(key) {
            return Err(bad(format!("Upload-Metadata names `{key}` twice")));
        }
        let value = value.trim();
        let decoded = if value.is_empty() {
            String::new()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()
                .and_then(|v| String::from_utf8(v).ok())
                .ok_or_else(|| {
                    bad(format!(
                        "Upload-Metadata `{key}` is not base64 of UTF-8 text"
                    ))
                })?
        };
        match key {
            "filename" => name = Some(decoded),
            "filetype" => media_type = Some(decoded),
            _ => {}
        }
    }
    Ok((name, media_type))
}

#[cfg(test)]
mod tests {
    use super::parse_metadata;

    #[test]
    fn metadata_pairs_decode_and_bad_ones_are_refused() {
        let (name, kind) =
            parse_metadata("filename c2Nhbi5wZGY=,filetype YXBwbGljYXRpb24vcGRm,is_confidential")
                .unwrap();
        assert_eq!(name.as_deref(), Some("scan.pdf"));
        assert_eq!(kind.as_deref(), Some("application/pdf"));
        assert_eq!(parse_metadata("").unwrap(), (None, None));
        assert!(parse_metadata("filename !!!").is_err());
        assert!(parse_metadata("filename YQ==,filename Yg==").is_err());
    }
}
