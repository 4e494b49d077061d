//! Exports of a job's results: the flat rows (`results?format=csv|json|ndjson`) and the
//! bundles (`zip`, `bagit`), fed from the store page by page and from the blob store entry by
//! entry into `docket-export`'s writer. Works on a running, paused or cancelled job: what is
//! finished so far.

use std::sync::Arc;

use docket_blobs::{BlobError, Blobs};
use docket_core::blob_keys;
use docket_export::{
    Blob, BundleFormat, BundleInfo, BundleItem, BundleSummary, BundleWriter, ExportError, FlatRow,
};
use docket_store::prelude::*;
use docket_store::ExportRow;
use futures::StreamExt;
use tokio::io::AsyncWrite;

use crate::ServiceError;

/// Rows per store page when texts come along: texts may be large (an OCR'd book is megabytes),
/// so a page holds few of them; one query per 16 documents is cheap next to writing them.
const BUNDLE_PAGE: usize = 16;

/// What a bundle holds besides the texts, metadata and thumbnails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Include {
    /// The originals, under `files/`.
    pub files: bool,
}

/// An item's row in the flat columns.
pub fn flat_row(row: &ExportRow) -> FlatRow {
    let d = row.document.as_ref();
    FlatRow {
        name: row.name.clone(),
        state: row.state.as_str().to_string(),
        document_id: d.map(|d| d.id.clone()),
        sha256: d.map(|d| d.sha256.clone()),
        media_type: d.map(|d| d.media_type.clone()),
        size: d.map(|d| d.size),
        pages: d.map(|d| d.pages),
        category: d.and_then(|d| d.category.clone()),
        confidence: d.and_then(|d| d.confidence),
        matched_by: row.matched_by.clone(),
        reused: row.reused,
        error: row.error.clone(),
    }
}

/// What `metadata/NAME.json` holds: the document resource without its text, with how it was
/// classified.
fn metadata_json(job_id: &str, row: &ExportRow) -> Option<serde_json::Value> {
    let d = row.document.as_ref()?;
    Some(serde_json::json!({
        "id": d.id,
        "job_id": job_id,
        "name": row.name,
        "sha256": d.sha256,
        "media_type": d.media_type,
        "size": d.size,
        "pages": d.pages,
        "category": d.category,
        "confidence": d.confidence,
        "matched_by": row.matched_by,
        "reused": row.reused,
        "metadata": d.metadata,
    }))
}

/// Writes the bundle of job `job_id` (already authorised by the caller) to `out`. A blob that
/// is missing is skipped with a note; a store or blob-store fault fails the whole bundle, which
/// then never gets its central directory.
pub async fn write_bundle<W>(
    store: Arc<dyn Store>,
    blobs: Blobs,
    job_id: &str,
    format: BundleFormat,
    include: Include,
    out: W,
) -> Result<BundleSummary, ServiceError>
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let today = docket_core::rfc3339(docket_core::now_millis());
    let info = BundleInfo {
        name: job_id.to_string(),
        source_organization: "Docket".into(),
        external_identifier: job_id.to_string(),
        bagging_date: today.get(..10).unwrap_or(&today).to_string(),
        software_agent: format!("docket-export {}", env!("CARGO_PKG_VERSION")),
    };
    let mut bundle = BundleWriter::new(out, format, info).await?;
    let mut after = 0i64;
    loop {
        let rows = store.export_rows(job_id, after, BUNDLE_PAGE, true).await?;
        let Some(last) = rows.last().map(|r| r.item_id) else {
            break;
        };
        let full = rows.len() == BUNDLE_PAGE;
        for row in rows {
            let item = bundle_item(&blobs, job_id, row, include).await?;
            bundle.add(item).await?;
        }
        after = last;
        if !full {
            break;
        }
    }
    Ok(bundle.finish().await?)
}

async fn bundle_item(
    blobs: &Blobs,
    job_id: &str,
    row: ExportRow,
    include: Include,
) -> Result<BundleItem, ServiceError> {
    let flat = flat_row(&row);
    let metadata = metadata_json(job_id, &row);
    let (thumbnail, file, text) = match row.document {
        Some(d) => {
            let paged = d.media_type == "application/pdf" || d.media_type.starts_with("image/");
            let thumbnail = match open(blobs, &blob_keys::thumbnail(&d.sha256)).await? {
                Some(blob) => Ok(Some(blob)),
                // Only documents with pages get a thumbnail: for them one is missing.
                None if paged => Err("no thumbnail was stored".to_string()),
                None => Ok(None),
            };
            let file = if include.files {
                match open(blobs, &blob_keys::file(&d.sha256)).await? {
                    Some(blob) => Ok(Some(blob)),
                    None => Err("the original is no longer stored".to_string()),
                }
            } else {
                Ok(None)
            };
            (thumbnail, file, Some(d.text.unwrap_or_default()))
        }
        None => (Ok(None), Ok(None), None),
    };
    Ok(BundleItem {
        row: flat,
        text,
        metadata,
        thumbnail,
        file,
    })
}

/// The blob at `key` as a stream, `None` when there is none.
async fn open(blobs: &Blobs, key: &str) -> Result<Option<Blob>, ServiceError> {
    match blobs.get_stream(key).await {
        Ok((size, stream)) => {
            let what = key.to_string();
            Ok(Some(Blob {
                size: Some(size),
                stream: stream
                    .map(move |c| {
                        c.map_err(|e| ExportError::Source {
                            what: what.clone(),
                            message: e.to_string(),
                        })
                    })
                    .boxed(),
            }))
        }
        Err(BlobError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
