//! `POST /v1/jobs`: a multipart upload streamed to blob storage, or JSON naming a folder on the
//! server (listed later by the job itself, never by the request). Answers 202 at once.

use std::path::{Path, PathBuf};

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_core::{now_millis, JobId, JobKind, JobOptions};
use docket_store::{NewItem, NewJob};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::AppState;

const JSON_LIMIT: usize = 1024 * 1024;
const TOO_LARGE_MARK: &str = "request body too large";
/// A synthetic `noop` job may ask for at most this many items.
const NOOP_MAX_ITEMS: u64 = 1_000_000;
/// The `options` part of a multipart submit is small JSON.
const OPTIONS_LIMIT: usize = 64 * 1024;

/// Submits a job: a multipart upload (`files` parts, optional `options` JSON part), or JSON
/// naming a folder on the server (`process`) or asking for synthetic items (`noop`). Answers
/// 202 at once; the job runs in the background. With an `Idempotency-Key`, a repeated submit
/// answers the first job again.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", operation_id = "submit_job",
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Makes a retried submit safe: the same key answers the same job (1–255 characters)")),
    request_body(content(
        (SubmitBody = "application/json"),
        (crate::openapi::JobUpload = "multipart/form-data"),
    )),
    responses(
        (status = 202, description = "Accepted; the job is queued", body = docket_core::Job,
            headers(
                ("Location" = String, description = "`/v1/jobs/{id}`"),
                ("Idempotent-Replayed" = String,
                    description = "`true` when an earlier submit with the same key is answered"),
            )),
        (status = 400, description = "Invalid body, options, kind, source or idempotency key"),
        (status = 403, description = "The folder is not under an allowed root"),
        (status = 409, description = "The submit conflicts with the stored state"),
        (status = 413, description = "The upload or JSON body is too large"),
        (status = 415, description = "Neither multipart/form-data nor application/json"),
    ))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> ApiResult<Response> {
    let key = idempotency_key(request.headers())?;
    if let Some(key) = &key {
        if let Some(job) = state
            .store
            .job_by_idempotency_key(&caller.0, key, now_millis())
            .await?
        {
            return Ok(accepted(job, true));
        }
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let new = if content_type.starts_with("multipart/form-data") {
        from_multipart(&state, &caller, request).await?
    } else if content_type.starts_with("application/json") {
        from_json(&state, &caller, request).await?
    } else {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send multipart/form-data with `files` parts, or application/json naming a folder",
        ));
    };
    let new = NewJob {
        idempotency_key: key,
        ..new
    };
    let id = new.id.clone();
    let created = match state.store.create_job(new, now_millis()).await {
        Ok(c) => c,
        Err(e) => {
            if let Some(id) = id {
                let _ = state.blobs.delete_prefix(&format!("uploads/{id}")).await;
            }
            return Err(e.into());
        }
    };
    if !created.created {
        // Lost a race with a concurrent submit under the same key: drop this upload.
        if let Some(id) = id {
            let _ = state.blobs.delete_prefix(&format!("uploads/{id}")).await;
        }
    }
    state.wake_engine();
    Ok(accepted(created.job, !created.created))
}

fn accepted(job: docket_core::Job, replayed: bool) -> Response {
    let location = format!("/v1/jobs/{}", job.id);
    let mut response = (StatusCode::ACCEPTED, Json(&job)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 255)
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1–255 visible ASCII characters",
            )
        })?;
    Ok(Some(v.to_string()))
}

fn parse_options(value: &serde_json::Value) -> ApiResult<JobOptions> {
    JobOptions::from_json(value)
        .map_err(|e| AppError::bad_request("invalid_options", e.to_string()))
}

/// A display name for an uploaded file: its relative path (a folder upload keeps its
/// structure) without `.`/`..` parts, absolute roots or control characters, bounded. It is only
/// ever a name: files are stored under generated keys.
fn clean_name(raw: Option<&str>, index: usize) -> String {
    let parts: Vec<String> = raw
        .unwrap_or("")
        .split(['/', '\\'])
        .map(|p| p.chars().filter(|c| !c.is_control()).collect::<String>())
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty() && p != "." && p != "..")
        .collect();
    let joined: String = parts.join("/").chars().take(512).collect();
    if joined.is_empty() {
        format!("file-{index:06}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn names_keep_their_folders_but_cannot_escape() {
        assert_eq!(clean_name(Some("more/page.html"), 0), "more/page.html");
        assert_eq!(clean_name(Some("../../etc/passwd"), 0), "etc/passwd");
        assert_eq!(clean_name(Some("/abs/x.txt"), 0), "abs/x.txt");
        assert_eq!(clean_name(Some("a\\b.txt"), 0), "a/b.txt");
        assert_eq!(clean_name(Some("..\u{0}"), 3), "file-000003");
        assert_eq!(clean_name(None, 7), "file-000007");
    }
}

async fn from_multipart(state: &AppState, caller: &Caller, request: Request) -> ApiResult<NewJob> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| AppError::bad_request("malformed_multipart", e.body_text()))?;
    let id = JobId::generate().to_string();
    let result = read_parts(state, &id, &mut multipart).await;
    let (items, options) = match result {
        Ok(parts) => parts,
        Err(e) => {
            let _ = state.blobs.delete_prefix(&format!("uploads/{id}")).await;
            return Err(e);
        }
    };
    Ok(NewJob {
        id: Some(id),
        user: caller.0.clone(),
        kind: JobKind::Process,
        options,
        idempotency_key: None,
        items,
        source: None,
    })
}

async fn read_parts(
    state: &AppState,
    id: &str,
    multipart: &mut Multipart,
) -> ApiResult<(Vec<NewItem>, JobOptions)> {
    let mut items = Vec::new();
    let mut options = JobOptions::default();
    let mut bytes: u64 = 0;
    let mut seen_part = false;
    let limit = state.config.upload_limit;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // A form with no parts at all arrives as a bare closing boundary.
            Err(e) if !seen_part && e.body_text().contains("incomplete") => {
                return Err(AppError::bad_request(
                    "empty_upload",
                    "the upload has no files: send one `files` part per file",
                ))
            }
            Err(e) => return Err(multipart_error(e, limit)),
        };
        seen_part = true;
        match field.name().unwrap_or("") {
            "files" | "file" | "files[]" => {
                let name = clean_name(field.file_name(), items.len());
                let key = format!("uploads/{id}/{:06}", items.len());
                // Keep the body limit's 413 recognisable through the blob store's error.
                let body = futures::StreamExt::map(field, |chunk| {
                    chunk.map_err(|e| {
                        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                            TOO_LARGE_MARK.to_string()
                        } else {
                            e.body_text()
                        }
                    })
                });
                let stored = state
                    .blobs
                    .put_stream(&key, Box::pin(body), limit.saturating_sub(bytes))
                    .await
                    .map_err(|e| match e {
                        docket_blobs::BlobError::Upload(m) if m == TOO_LARGE_MARK => too_large(limit),
                        e => e.into(),
                    })?;
                bytes += stored.size;
                items.push(NewItem {
                    name,
                    payload: json!({"blob": stored.key, "size": stored.size, "sha256": stored.sha256}),
                });
            }
            "options" => {
                let mut field = field;
                let mut raw = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            raw.extend_from_slice(&chunk);
                            if raw.len() > OPTIONS_LIMIT {
                                return Err(AppError::bad_request(
                                    "invalid_options",
                                    format!("the `options` part is limited to {OPTIONS_LIMIT} bytes"),
                                ));
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return Err(multipart_error(e, limit)),
                    }
                }
                let text = String::from_utf8(raw).map_err(|_| {
                    AppError::bad_request("malformed_json", "the `options` part is not UTF-8 JSON")
                })?;
                let value: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| AppError::bad_request("malformed_json", format!("the `options` part is not JSON: {e}")))?;
                options = parse_options(&value)?;
            }
            other => {
                return Err(AppError::bad_request(
                    "unknown_part",
                    format!("unknown multipart part `{other}`: send `files` (one per file) and optionally `options`"),
                ))
            }
        }
    }
    if items.is_empty() {
        return Err(AppError::bad_request(
            "empty_upload",
            "the upload has no files: send one `files` part per file",
        ));
    }
    if bytes == 0 {
        return Err(AppError::bad_request(
            "empty_upload",
            "every uploaded file is empty",
        ));
    }
    Ok((items, options))
}

fn too_large(limit: u64) -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the upload exceeds the limit of {limit} bytes"),
    )
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: u64) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        AppError::bad_request("malformed_multipart", e.body_text())
    }
}

/// A JSON submit.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = JobSubmit)]
struct SubmitBody {
    #[schema(value_type = crate::openapi::SubmitKind)]
    kind: String,
    source: Source,
    #[serde(default)]
    #[schema(value_type = Option<JobOptions>)]
    options: serde_json::Value,
}

/// Where a JSON-submitted job's items come from.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = JobSource)]
struct Source {
    /// A folder on the server, for `process`.
    path: Option<String>,
    /// For a synthetic `noop` job: how many items, and how long each takes.
    #[schema(minimum = 1, maximum = 1000000)]
    count: Option<u64>,
    /// Milliseconds per `noop` item (at most 60000 are slept).
    sleep_ms: Option<u64>,
}

async fn from_json(state: &AppState, caller: &Caller, request: Request) -> ApiResult<NewJob> {
    let body = axum::body::to_bytes(request.into_body(), JSON_LIMIT)
        .await
        .map_err(|_| {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "a JSON submit is limited to 1 MiB",
            )
        })?;
    let body: SubmitBody = serde_json::from_slice(&body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            AppError::bad_request("invalid_request", e.to_string())
        }
        _ => AppError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")),
    })?;
    let options = parse_options(&body.options)?;
    let kind: JobKind = body.kind.parse().map_err(|_| {
        AppError::bad_request(
            "invalid_request",
            format!("unknown job kind `{}`", body.kind),
        )
    })?;
    let base = NewJob {
        id: None,
        user: caller.0.clone(),
        kind,
        options,
        idempotency_key: None,
        items: Vec::new(),
        source: None,
    };
    match kind {
        JobKind::Process => {
            let path = body.source.path.ok_or_else(|| {
                AppError::bad_request(
                    "invalid_request",
                    "a `process` job needs `source.path`, a folder on the server",
                )
            })?;
            let folder = allowed_folder(&state.config.allowed_roots, Path::new(&path))?;
            Ok(NewJob {
                source: Some(json!({"path": folder})),
                ..base
            })
        }
        JobKind::Noop => {
            let count = body
                .source
                .count
                .filter(|c| (1..=NOOP_MAX_ITEMS).contains(c))
                .ok_or_else(|| {
                    AppError::bad_request(
                        "invalid_request",
                        format!("a `noop` job needs `source.count` between 1 and {NOOP_MAX_ITEMS}"),
                    )
                })?;
            let payload = match body.source.sleep_ms {
                Some(ms) => json!({"sleep_ms": ms.min(60_000)}),
                None => serde_json::Value::Null,
            };
            let items = (0..count)
                .map(|i| NewItem {
                    name: format!("noop-{i:07}"),
                    payload: payload.clone(),
                })
                .collect();
            Ok(NewJob { items, ..base })
        }
        other => Err(AppError::bad_request(
            "invalid_request",
            format!("`{other}` jobs are not submitted here"),
        )),
    }
}

/// `path` with `.` and `..` resolved lexically (without touching the disk).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The canonical folder, if it exists and lies under an allowed root. Symlinks and `..` are
/// resolved first, so neither can escape a root.
fn allowed_folder(roots: &[PathBuf], path: &Path) -> ApiResult<PathBuf> {
    let denied = || {
        AppError::new(
            StatusCode::FORBIDDEN,
            "path_not_allowed",
            "that folder is not under an allowed root (configure DOCKET_ALLOWED_ROOTS on the server)",
        )
    };
    if !path.is_absolute() {
        return Err(AppError::bad_request(
            "invalid_request",
            "`source.path` must be an absolute path",
        ));
    }
    let lexical = normalize(path);
    let canonical = match path.canonicalize() {
        Ok(p) => p,
        // Do not reveal whether a path outside the roots exists.
        Err(_) if !roots.iter().any(|r| lexical.starts_with(r)) => return Err(denied()),
        Err(_) => return Err(AppError::bad_request("path_not_found", "no such folder")),
    };
    if !roots.iter().any(|r| canonical.starts_with(r)) {
        return Err(denied());
    }
    if !canonical.is_dir() {
        return Err(AppError::bad_request(
            "path_not_found",
            "`source.path` is not a folder",
        ));
    }
    Ok(canonical)
}
