//! `GET /v1/jobs/{id}/results`: the finished items of a job, streamed page by page (so a job of
//! a million items is never held in memory), also while the job runs, is paused or was
//! cancelled. `json`/`ndjson`/`csv` are the flat rows; `zip`/`bagit` the export bundle, written
//! by `docket-app`/`docket-export` into a pipe that the response reads as it fills.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use docket_core::ErrorCode;
use docket_export::{BundleFormat, FLAT_COLUMNS};
use docket_store::prelude::*;
use docket_store::ExportRow;
use futures::stream::{self, StreamExt};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::ApiQuery;
use crate::jobs::owned_job;
use crate::AppState;

const PAGE: usize = 500;
/// The pipe between the bundle writer and the response body.
const PIPE: usize = 64 * 1024;

/// The results' format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = ResultsFormat)]
pub enum Format {
    Json,
    Ndjson,
    Csv,
    Zip,
    Bagit,
}

/// What a bundle includes besides texts, metadata and thumbnails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = ResultsInclude)]
pub enum Include {
    /// The original files, under `files/`.
    Files,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// `json` (the default: one array), `ndjson` (a line per item), `csv` (the flat columns),
    /// `zip` (the export bundle) or `bagit` (the bundle as a BagIt 1.0 bag in a ZIP).
    format: Option<Format>,
    /// `files`: the bundle (`zip`, `bagit`) also holds the originals.
    include: Option<Include>,
}

/// A row as JSON: the flat columns typed (numbers as numbers, `null` for none), with the
/// item's id and its handler's `output` as before.
fn json_row(row: &ExportRow) -> serde_json::Value {
    let flat = docket_app::flat_row(row);
    serde_json::json!({
        "item_id": docket_core::ItemId(row.item_id).to_string(),
        "name": flat.name,
        "state": flat.state,
        "document_id": flat.document_id,
        "sha256": flat.sha256,
        "media_type": flat.media_type,
        "size": flat.size,
        "pages": flat.pages,
        "category": flat.category,
        "confidence": flat.confidence,
        "matched_by": flat.matched_by,
        "reused": flat.reused,
        "error": flat.error,
        "output": row.output,
    })
}

fn render(format: Format, row: &ExportRow, first: bool) -> String {
    match format {
        Format::Json if first => json_row(row).to_string(),
        Format::Json => format!(",{}", json_row(row)),
        Format::Ndjson => format!("{}\n", json_row(row)),
        _ => docket_app::flat_row(row).csv(),
    }
}

/// The finished items so far (succeeded, failed, cancelled) in item order, or the export
/// bundle, streamed (also while the job runs, is paused or was cancelled).
#[utoipa::path(get, path = "/v1/jobs/{id}/results", tag = "jobs", operation_id = "job_results",
    params(crate::openapi::JobPath, ResultsQuery),
    responses(
        (status = 200, description = "The results in the asked format. `csv` has the flat \
            columns `name, state, document_id, sha256, media_type, size, pages, category, \
            confidence, matched_by, reused, error`; `json`/`ndjson` rows hold the same fields \
            plus `item_id` and `output`. `zip` is the export bundle (`manifest.csv` with the \
            flat columns plus `text_path, metadata_path, thumbnail_path, file_path`, \
            `text/NAME.txt`, `metadata/NAME.json`, `thumbnails/NAME.png`, with \
            `include=files` `files/NAME`; blobs that are missing are listed in `notes.txt`); \
            `bagit` the same payload as a BagIt 1.0 bag (RFC 8493) in a ZIP. Bundles are \
            streamed as they are written: a fault mid-way breaks the transfer.",
            headers(("Content-Disposition" = String,
                description = "`attachment; filename=\"job_….zip\"` for `zip` and `bagit`")),
            content(
            (Vec<crate::openapi::ResultEntry> = "application/json"),
            (String = "application/x-ndjson"),
            (String = "text/csv"),
            (Vec<u8> = "application/zip"),
        )),
        (status = 400, description = "Unknown format or include, `include` without a bundle \
            format, or malformed query"),
        (status = 404, description = "No such job"),
    ))]
pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ResultsQuery>,
) -> ApiResult<Response> {
    owned_job(&state, &caller, &id).await?;
    let format = q.format.unwrap_or(Format::Json);
    match format {
        Format::Zip => return bundle(state, id, BundleFormat::Zip, q.include),
        Format::Bagit => return bundle(state, id, BundleFormat::BagIt, q.include),
        _ if q.include.is_some() => {
            return Err(AppError::new(
                ErrorCode::InvalidQuery,
                "include applies to the bundle formats (zip, bagit) only",
            ))
        }
        _ => {}
    }
    let (content_type, head, tail) = match format {
        Format::Json => ("application/json", String::from("["), "]"),
        Format::Ndjson => ("application/x-ndjson", String::new(), ""),
        _ => (
            "text/csv; charset=utf-8",
            docket_export::csv_record(FLAT_COLUMNS),
            "",
        ),
    };
    let store: Arc<dyn Store> = state.store.clone();
    // (after, first, done)
    let pages = stream::unfold((0i64, true, false), move |(after, first, done)| {
        let store = store.clone();
        let id = id.clone();
        async move {
            if done {
                return None;
            }
            match store.export_rows(&id, after, PAGE, false).await {
                Ok(rows) => {
                    let Some(last) = rows.last().map(|r| r.item_id) else {
                        return Some((Ok::<_, std::io::Error>(Bytes::new()), (after, first, true)));
                    };
                    let mut chunk = String::new();
                    for (i, row) in rows.iter().enumerate() {
                        chunk.push_str(&render(format, row, first && i == 0));
                    }
                    let exhausted = rows.len() < PAGE;
                    Some((Ok(Bytes::from(chunk)), (last, false, exhausted)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "reading results failed mid-stream");
                    Some((
                        Err(std::io::Error::other("reading results failed")),
                        (after, first, true),
                    ))
                }
            }
        }
    });
    let body = stream::once(async move { Ok(Bytes::from(head)) })
        .chain(pages)
        .chain(stream::once(async move {
            Ok(Bytes::from_static(tail.as_bytes()))
        }));
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from_stream(body))
        .map_err(|_| AppError::internal())
}

/// The bundle, written by a task into a pipe that the body reads: the response starts at
/// once and memory stays flat. If the bundle fails, the body ends in an error (the transfer
/// breaks) instead of ending cleanly.
fn bundle(
    state: AppState,
    id: String,
    format: BundleFormat,
    include: Option<Include>,
) -> ApiResult<Response> {
    let (writer, reader) = tokio::io::duplex(PIPE);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<bool>();
    let include = docket_app::Include {
        files: include == Some(Include::Files),
    };
    let filename = match format {
        BundleFormat::Zip => format!("{id}.zip"),
        BundleFormat::BagIt => format!("{id}-bagit.zip"),
    };
    let (store, blobs) = (state.store.clone(), state.blobs.clone());
    tokio::spawn(async move {
        let outcome = docket_app::write_bundle(store, blobs, &id, format, include, writer).await;
        if let Err(e) = &outcome {
            tracing::warn!(job = %id, error = %e, "export bundle failed mid-stream");
        }
        let _ = done_tx.send(outcome.is_ok());
    });
    let body = stream::unfold((reader, Some(done_rx)), |(mut reader, done)| async move {
        let done = done?;
        let mut buf = BytesMut::with_capacity(PIPE);
        match reader.read_buf(&mut buf).await {
            Ok(0) => {
                // The writer is gone: a finished bundle ends the body, anything else breaks it.
                match done.await {
                    Ok(true) => None,
                    _ => Some((
                        Err(std::io::Error::other("the export failed mid-stream")),
                        (reader, None),
                    )),
                }
            }
            Ok(_) => Some((Ok(buf.freeze()), (reader, Some(done)))),
            Err(e) => Some((Err(e), (reader, None))),
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/zip")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from_stream(body))
        .map_err(|_| AppError::internal())
}
