//! `POST /v1/jobs`: a multipart upload streamed to blob storage, or JSON naming a folder on the
//! server (listed later by the job itself, never by the request). Answers 202 at once.

use std::path::PathBuf;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use docket_app::{NoopSpec, ServiceError, Upload};
use docket_core::{ErrorCode, JobKind, JobOptions};
use docket_store::Created;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::AppState;

const JSON_LIMIT: usize = 1024 * 1024;
const TOO_LARGE_MARK: &str = "request body too large";
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
    let submission = state.submission();
    if let Some(key) = &key {
        if let Some(job) = submission.replay(&caller.0, key).await? {
            return Ok(accepted(job, true));
        }
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let created = if content_type.starts_with("multipart/form-data") {
        if let Some(length) = content_length(request.headers()) {
            submission.check_declared_size(length)?;
        }
        from_multipart(&state, &caller, request, key).await?
    } else if content_type.starts_with("application/json") {
        from_json(&state, &caller, request, key).await?
    } else {
        return Err(AppError::new(
            ErrorCode::UnsupportedMediaType,
            "send multipart/form-data with `files` parts, or application/json naming a folder",
        ));
    };
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

/// The request's (or a part's) `Content-Length`, if it gives one.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
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
            AppError::new(
                ErrorCode::InvalidIdempotencyKey,
                "Idempotency-Key must be 1–255 visible ASCII characters",
            )
        })?;
    Ok(Some(v.to_string()))
}

fn parse_options(state: &AppState, value: &serde_json::Value) -> ApiResult<JobOptions> {
    let options = JobOptions::from_json(value)
        .map_err(|e| AppError::new(ErrorCode::InvalidOptions, e.to_string()))?;
    docket_app::check_ocr_provider(&options, &state.config.remotes)?;
    Ok(options)
}

/// [`docket_app::display_name`], or `file-NNNNNN` when nothing of the name is left.
fn clean_name(raw: Option<&str>, index: usize) -> String {
    docket_app::display_name(raw.unwrap_or("")).unwrap_or_else(|| format!("file-{index:06}"))
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

    #[test]
    fn names_lose_bidi_controls_and_other_format_characters() {
        // U+202E would show `invoice\u{202e}txt.exe` as `invoiceexe.txt`.
        assert_eq!(
            clean_name(Some("invoice\u{202e}txt.exe"), 0),
            "invoicetxt.exe"
        );
        assert_eq!(
            clean_name(Some("a\u{2067}b\u{2069}/c\u{200b}d\u{061c}.pdf"), 0),
            "ab/cd.pdf"
        );
        assert_eq!(clean_name(Some("\u{202e}\u{200f}"), 4), "file-000004");
    }
}

async fn from_multipart(
    state: &AppState,
    caller: &Caller,
    request: Request,
    key: Option<String>,
) -> ApiResult<Created> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| AppError::new(ErrorCode::MalformedMultipart, e.body_text()))?;
    let mut upload = state.submission().upload(&caller.0).await?;
    // A refused upload's files are removed before the refusal is sent, so a client that gets
    // a 4xx finds nothing left behind. (A client that goes away mid-upload drops the future
    // instead, and the upload's `Drop` removes them in the background.)
    let options = match read_parts(state, &mut upload, &mut multipart).await {
        Ok(options) => options,
        Err(refused) => {
            upload.abandon().await;
            return Err(refused);
        }
    };
    Ok(upload.finish(options, key).await?)
}

/// Streams the `files` parts into `upload`; returns the `options` part.
async fn read_parts(
    state: &AppState,
    upload: &mut Upload,
    multipart: &mut Multipart,
) -> ApiResult<JobOptions> {
    let mut options = JobOptions::default();
    let mut seen_part = false;
    let mut seen_options = false;
    let limit = state.config.upload_limit;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // A form with no parts at all arrives as a bare closing boundary.
            Err(e) if !seen_part && e.body_text().contains("incomplete") => {
                return Err(AppError::new(
                    ErrorCode::EmptyUpload,
                    "the upload has no files: send one `files` part per file",
                ))
            }
            Err(e) => return Err(multipart_error(e, limit)),
        };
        seen_part = true;
        match field.name().unwrap_or("") {
            "files" | "file" | "files[]" => {
                let name = clean_name(field.file_name(), upload.files());
                if let Some(length) = content_length(field.headers()) {
                    upload.check_declared_file(&name, length)?;
                }
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
                upload
                    .add_file(name, Box::pin(body))
                    .await
                    .map_err(|e| match e {
                        ServiceError::Blobs(docket_blobs::BlobError::Upload(m))
                            if m == TOO_LARGE_MARK =>
                        {
                            too_large(limit)
                        }
                        e => e.into(),
                    })?;
            }
            "options" => {
                let mut field = field;
                let mut raw = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            raw.extend_from_slice(&chunk);
                            if raw.len() > OPTIONS_LIMIT {
                                return Err(AppError::new(
                                    ErrorCode::InvalidOptions,
                                    format!("the `options` part is limited to {OPTIONS_LIMIT} bytes"),
                                ));
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return Err(multipart_error(e, limit)),
                    }
                }
                let text = String::from_utf8(raw).map_err(|_| {
                    AppError::new(ErrorCode::MalformedJson, "the `options` part is not UTF-8 JSON")
                })?;
                let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    AppError::new(
                        ErrorCode::MalformedJson,
                        format!("the `options` part is not JSON: {e}"),
                    )
                })?;
                if seen_options {
                    return Err(AppError::new(
                        ErrorCode::InvalidOptions,
                        "the `options` part appears more than once: send one",
                    ));
                }
                seen_options = true;
                options = parse_options(state, &value)?;
                // Before any file after it is stored.
                state.submission().check_options(&options).await?;
            }
            other => {
                return Err(AppError::new(
                    ErrorCode::UnknownPart,
                    format!("unknown multipart part `{other}`: send `files` (one per file) and optionally `options`"),
                ))
            }
        }
    }
    Ok(options)
}

fn too_large(limit: u64) -> AppError {
    AppError::new(
        ErrorCode::PayloadTooLarge,
        format!("the upload exceeds the limit of {limit} bytes"),
    )
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: u64) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        AppError::new(ErrorCode::MalformedMultipart, e.body_text())
    }
}

/// A JSON submit.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = JobSubmit,
    example = json!({"kind": "noop", "source": {"count": 3, "sleep_ms": 1}, "options": {"max_retries": 1}}))]
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
    /// Finished resumable uploads (`upl_…`, from `/v1/uploads`), for `process`: one item
    /// each, in this order; each is consumed by the job.
    uploads: Option<Vec<String>>,
}

async fn from_json(
    state: &AppState,
    caller: &Caller,
    request: Request,
    key: Option<String>,
) -> ApiResult<Created> {
    let body = axum::body::to_bytes(request.into_body(), JSON_LIMIT)
        .await
        .map_err(|_| {
            AppError::new(
                ErrorCode::PayloadTooLarge,
                "a JSON submit is limited to 1 MiB",
            )
        })?;
    let body: SubmitBody = serde_json::from_slice(&body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            AppError::new(ErrorCode::InvalidRequest, e.to_string())
        }
        _ => AppError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        ),
    })?;
    let options = parse_options(state, &body.options)?;
    let kind: JobKind = body.kind.parse().map_err(|_| {
        AppError::new(
            ErrorCode::InvalidRequest,
            format!("unknown job kind `{}`", body.kind),
        )
    })?;
    let submission = state.submission();
    let source = &body.source;
    let foreign: &[(&str, bool)] = match kind {
        JobKind::Process => &[
            ("count", source.count.is_some()),
            ("sleep_ms", source.sleep_ms.is_some()),
        ],
        JobKind::Noop => &[("path", source.path.is_some())],
        _ => &[],
    };
    if let Some((field, _)) = foreign.iter().find(|(_, given)| *given) {
        return Err(AppError::new(
            ErrorCode::InvalidRequest,
            format!("a `{kind}` job does not take `source.{field}`"),
        ));
    }
    match kind {
        JobKind::Process => {
            let source = body.source;
            if let Some(uploads) = source.uploads {
                if source.path.is_some() {
                    return Err(AppError::new(
                        ErrorCode::InvalidRequest,
                        "a `process` job takes `source.path` or `source.uploads`, not both",
                    ));
                }
                return Ok(submission
                    .from_uploads(&caller.0, uploads, options, key)
                    .await?);
            }
            let path = source.path.ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidRequest,
                    "a `process` job needs `source.path` (a folder on the server) or \
                     `source.uploads` (finished resumable uploads)",
                )
            })?;
            Ok(submission
                .folder(&caller.0, PathBuf::from(path), options, key)
                .await?)
        }
        JobKind::Noop => {
            let spec = NoopSpec {
                count: body.source.count,
                sleep_ms: body.source.sleep_ms,
            };
            Ok(submission.noop(&caller.0, spec, options, key).await?)
        }
        other => Err(AppError::new(
            ErrorCode::InvalidRequest,
            format!("`{other}` jobs are not submitted here"),
        )),
    }
}
