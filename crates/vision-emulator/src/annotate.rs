//! `POST /v1/images:annotate`: the key, the JSON shape, base64 and the 16-image cap checked as
//! Google checks them (Google's error shape: `{"error": {"code", "message", "status"}}`),
//! and each image read by the local `tesseract`.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use futures::future::join_all;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::record::{ReadRecord, RequestRecord};
use crate::Site;

/// The most images one request may carry.
pub const MAX_IMAGES: usize = 16;

/// Google's error answer.
pub(crate) fn google_error(status: StatusCode, message: &str) -> Response {
    let name = match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
    let body = json!({"error": {"code": status.as_u16(), "message": message, "status": name}});
    (status, Json(body)).into_response()
}

fn invalid(message: String) -> Response {
    google_error(StatusCode::BAD_REQUEST, &message)
}

/// A per-image `google.rpc.Status`.
fn image_error(code: i32, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// One image of the request, checked.
enum Asked {
    Image {
        bytes: Vec<u8>,
        languages: String,
    },
    /// Answered with a per-image error without reading it.
    Refused(Value),
}

pub(crate) async fn annotate(
    State(site): State<Arc<Site>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let delay = site.faults.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (response, images) = answer(&site, &query, &body).await;
    site.record.lock().requests.push(RequestRecord {
        images,
        status: response.status().as_u16(),
    });
    response
}

async fn answer(site: &Site, query: &HashMap<String, String>, body: &[u8]) -> (Response, usize) {
    match query.get("key") {
        None => {
            let e = google_error(
                StatusCode::FORBIDDEN,
                "The request is missing a valid API key.",
            );
            return (e, 0);
        }
        Some(key) if *key != site.config.api_key => {
            let e = invalid("API key not valid. Please pass a valid API key.".into());
            return (e, 0);
        }
        Some(_) => {}
    }
    if let Some((status, retry_after)) = site.faults.take_failure() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut e = google_error(status, "Injected by the emulator.");
        if let Some(seconds) = retry_after {
            e.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return (e, 0);
    }
    let asked = match parse(body) {
        Ok(asked) => asked,
        Err(message) => return (invalid(message), 0),
    };
    let images = asked.len();
    // Read side by side (the OCR slots bound how many at once), answered in order.
    let responses = join_all(asked.into_iter().map(|asked| read_one(site, asked))).await;
    (
        Json(json!({ "responses": responses })).into_response(),
        images,
    )
}

/// The request's images, or why the whole request is refused (400 INVALID_ARGUMENT).
fn parse(body: &[u8]) -> Result<Vec<Asked>, String> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| format!("Invalid JSON payload received. Unexpected token.\n{e}"))?;
    let requests = json
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| "Invalid JSON payload received. `requests` must be a list.".to_owned())?;
    if requests.is_empty() {
        return Err("No requests given.".to_owned());
    }
    if requests.len() > MAX_IMAGES {
        return Err(format!("Too many images per request. Max is {MAX_IMAGES}."));
    }
    requests
        .iter()
        .enumerate()
        .map(|(i, request)| parse_one(i, request))
        .collect()
}

fn parse_one(i: usize, request: &Value) -> Result<Asked, String> {
    let features = request
        .get("features")
        .and_then(Value::as_array)
        .filter(|f| !f.is_empty())
        .ok_or_else(|| format!("requests[{i}]: no feature was specified."))?;
    let mut reads_text = false;
    for (j, feature) in features.iter().enumerate() {
        match feature.get("type").and_then(Value::as_str) {
            Some("DOCUMENT_TEXT_DETECTION" | "TEXT_DETECTION") => reads_text = true,
            Some(
                "LABEL_DETECTION"
                | "FACE_DETECTION"
                | "LANDMARK_DETECTION"
                | "LOGO_DETECTION"
                | "SAFE_SEARCH_DETECTION"
                | "IMAGE_PROPERTIES"
                | "CROP_HINTS"
                | "WEB_DETECTION"
                | "OBJECT_LOCALIZATION",
            ) => {}
            other => {
                return Err(format!(
                    "Invalid value at 'requests[{i}].features[{j}].type' \
                     (type.googleapis.com/google.cloud.vision.v1.Feature.Type), {}",
                    other.map_or("null".to_owned(), |t| format!("\"{t}\""))
                ))
            }
        }
    }
    let hints: Vec<&str> = request
        .pointer("/imageContext/languageHints")
        .and_then(Value::as_array)
        .map(|hints| hints.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let languages = tesseract_languages(&hints);
    let Some(content) = request.pointer("/image/content") else {
        return Ok(Asked::Refused(image_error(
            3,
            "image-annotator::error(12): Image processing error! (no image content)",
        )));
    };
    let content = content.as_str().ok_or_else(|| {
        format!("Invalid value at 'requests[{i}].image.content' (TYPE_BYTES), not a string")
    })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(content)
        .map_err(|_| {
            let start: String = content.chars().take(16).collect();
            format!(
                "Invalid value at 'requests[{i}].image.content' (TYPE_BYTES), \
                 Base64 decoding failed for \"{start}\""
            )
        })?;
    if !reads_text {
        return Ok(Asked::Refused(json!({})));
    }
    Ok(Asked::Image { bytes, languages })
}

/// Tesseract's languages for BCP-47 hints (English when none is known).
fn tesseract_languages(hints: &[&str]) -> String {
    const CODES: &[(&str, &str)] = &[
        ("en", "eng"),
        ("de", "deu"),
        ("fr", "fra"),
        ("es", "spa"),
        ("it", "ita"),
        ("pt", "por"),
        ("nl", "nld"),
    ];
    let installed: Vec<&str> = hints
        .iter()
        .filter_map(|h| CODES.iter().find(|(b, _)| b == h).map(|(_, t)| *t))
        .filter(|t| *t == "eng" || std::path::Path::new("/usr/share/tesseract-ocr").exists())
        .collect();
    if installed.is_empty() {
        "eng".to_owned()
    } else {
        installed.join("+")
    }
}

/// Whether the bytes look like an image format Vision accepts.
fn looks_like_an_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        || bytes.starts_with(b"GIF8")
        || bytes.starts_with(b"BM")
        || (bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
        || bytes.starts_with(b"II*\0")
        || bytes.starts_with(b"MM\0*")
}

async fn read_one(site: &Site, asked: Asked) -> Value {
    let (bytes, languages) = match asked {
        Asked::Refused(answer) => return answer,
        Asked::Image { bytes, languages } => (bytes, languages),
    };
    if let Some(code) = site.faults.take_image_error() {
        return image_error(code, "Injected by the emulator.");
    }
    if !looks_like_an_image(&bytes) {
        return image_error(3, "Bad image data.");
    }
    let text = match tesseract(site, &bytes, &languages).await {
        Ok(text) => text,
        Err(_) => return image_error(3, "Bad image data."),
    };
    site.record.lock().read.push(ReadRecord {
        sha256: hex::encode(Sha256::digest(&bytes)),
        chars: text.chars().count(),
    });
    if text.trim().is_empty() {
        // Vision leaves the annotation out when it finds no text.
        return json!({});
    }
    json!({"fullTextAnnotation": {"text": text, "pages": []}})
}

/// Reads `bytes` with the local tesseract CLI (one thread, as a tuned setup runs it).
async fn tesseract(site: &Site, bytes: &[u8], languages: &str) -> std::io::Result<String> {
    let _slot = site
        .ocr_slots
        .acquire()
        .await
        .map_err(|_| std::io::Error::other("closed"))?;
    let mut child = tokio::process::Command::new(&site.config.tesseract)
        .args(["stdin", "stdout", "-l", languages])
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(bytes).await?;
    }
    let output = child.wait_with_output().await?;
    if !output.status.success() {
        return Err(std::io::Error::other("tesseract failed"));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
