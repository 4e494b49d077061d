//! `GET /v1/documents/{id}/file` and `/thumbnail`: the original file and the PNG of its first
//! page, from blob storage where the pipeline keeps them by content hash (`files/<sha256>`,
//! `thumbnails/<sha256>.png`). Both are streamed, never read whole into memory.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use docket_blobs::BlobError;
use docket_core::ErrorCode;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::AppState;

use crate::documents::owned_document;

/// Streams the blob at `key` with `content_type`, or 404 with `missing` as the detail.
async fn stream_blob(
    state: &AppState,
    key: &str,
    content_type: HeaderValue,
    missing: &str,
) -> ApiResult<Response> {
    let (size, stream) = match state.blobs.get_stream(key).await {
        Ok(found) => found,
        Err(BlobError::NotFound(_)) => {
            return Err(AppError::new(ErrorCode::NotFound, missing.to_owned()))
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Content-addressed: what is under the key never changes.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    Ok(response)
}

/// PNG of the document's first page (PDF and images only).
#[utoipa::path(get, path = "/v1/documents/{id}/thumbnail", tag = "documents",
    operation_id = "document_thumbnail", params(crate::openapi::DocumentPath),
    responses(
        (status = 200, description = "The thumbnail, at most 256 pixels on its long side",
            body = crate::openapi::Binary, content_type = "image/png"),
        (status = 404, description = "No such document, or it has no thumbnail"),
    ))]
pub async fn thumbnail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let d = owned_document(&state, &caller, &id).await?;
    stream_blob(
        &state,
        &docket_core::blob_keys::thumbnail(&d.sha256),
        HeaderValue::from_static("image/png"),
        "this document has no thumbnail",
    )
    .await
}

/// The original file as uploaded, with its media type, as a download.
#[utoipa::path(get, path = "/v1/documents/{id}/file", tag = "documents",
    operation_id = "document_file", params(crate::openapi::DocumentPath),
    responses(
        (status = 200, description = "The original bytes, with the document's media type",
            body = crate::openapi::Binary, content_type = "*/*"),
        (status = 404, description = "No such document, or its original is not stored"),
    ))]
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let d = owned_document(&state, &caller, &id).await?;
    let content_type = HeaderValue::from_str(&d.media_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let mut response = stream_blob(
        &state,
        &format!("files/{}", d.sha256),
        content_type,
        "the original of this document is not stored",
    )
    .await?;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&d.name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    // An uploaded HTML file must not run as a page of this origin if opened directly.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    Ok(response)
}

/// `attachment` with the file's base name: an ASCII `filename` for old clients and an RFC 8187
/// `filename*` with the exact name.
fn content_disposition(name: &str) -> String {
    let base = docket_core::visible_name(name.rsplit(['/', '\\']).next().unwrap_or(name));
    let base = if base.is_empty() {
        "document"
    } else {
        base.as_str()
    };
    let ascii: String = base
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::with_capacity(base.len() * 3);
    for b in base.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                encoded.push(b as char)
            }
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn disposition_keeps_the_base_name_and_escapes_the_rest() {
        assert_eq!(
            content_disposition("scans/a b.pdf"),
            "attachment; filename=\"a b.pdf\"; filename*=UTF-8''a%20b.pdf"
        );
        assert_eq!(
            content_disposition("Zürich \"x\".pdf"),
            "attachment; filename=\"Z_rich _x_.pdf\"; filename*=UTF-8''Z%C3%BCrich%20%22x%22.pdf"
        );
        // No bidi override reaches the download dialog, in either parameter.
        assert_eq!(
            content_disposition("scans/invoice\u{202e}fdp.exe"),
            "attachment; filename=\"invoicefdp.exe\"; filename*=UTF-8''invoicefdp.exe"
        );
        assert_eq!(
            content_disposition("dir/"),
            "attachment; filename=\"document\"; filename*=UTF-8''document"
        );
    }
}
