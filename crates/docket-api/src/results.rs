//! `GET /v1/jobs/{id}/results`: streamed page by page, so a job of a million items is never
//! held in memory; available while the job runs, is paused or was cancelled.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use docket_store::prelude::*;
use docket_store::ResultRow;
use futures::stream::{self, StreamExt};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::ApiQuery;
use crate::jobs::owned_job;
use crate::AppState;

const PAGE: usize = 500;

/// The results' format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = ResultsFormat)]
pub enum Format {
    Json,
    Ndjson,
    Csv,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// `json` (the default: one array), `ndjson` (a line per item) or `csv`.
    format: Option<Format>,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn render(format: Format, row: &ResultRow, first: bool) -> String {
    let id = docket_core::ItemId(row.item_id).to_string();
    match format {
        Format::Json | Format::Ndjson => {
            let value = serde_json::json!({"item_id": id, "name": row.name, "output": row.output});
            match format {
                Format::Json if first => value.to_string(),
                Format::Json => format!(",{value}"),
                _ => format!("{value}\n"),
            }
        }
        Format::Csv => {
            let field = |k: &str| {
                row.output.get(k).map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                })
            };
            format!(
                "{},{},{},{},{},{}\r\n",
                csv_field(&id),
                csv_field(&row.name),
                csv_field(&field("document_id").unwrap_or_default()),
                csv_field(&field("media_type").unwrap_or_default()),
                csv_field(&field("category").unwrap_or_default()),
                csv_field(&row.output.to_string()),
            )
        }
    }
}

/// The results so far, one entry per succeeded item, streamed (also while the job runs, is
/// paused or was cancelled).
#[utoipa::path(get, path = "/v1/jobs/{id}/results", tag = "jobs", operation_id = "job_results",
    params(crate::openapi::JobPath, ResultsQuery),
    responses(
        (status = 200, description = "The results in the asked format", content(
            (Vec<crate::openapi::ResultEntry> = "application/json"),
            (String = "application/x-ndjson"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Unknown format or malformed query"),
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
    let (content_type, head, tail) = match format {
        Format::Json => ("application/json", "[", "]"),
        Format::Ndjson => ("application/x-ndjson", "", ""),
        Format::Csv => (
            "text/csv; charset=utf-8",
            "item_id,name,document_id,media_type,category,output\r\n",
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
            match store.results(&id, after, PAGE).await {
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
    let body = stream::once(async move { Ok(Bytes::from_static(head.as_bytes())) })
        .chain(pages)
        .chain(stream::once(async move {
            Ok(Bytes::from_static(tail.as_bytes()))
        }));
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from_stream(body))
        .map_err(|_| AppError::internal())
}
