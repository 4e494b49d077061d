//! The AMI set's CSV and ZIP, built into blob storage as they are written: a set of 10,000
//! documents never sits in memory. The ZIP holds each original under `files/NAME` (the
//! entry path the CSV's `documents`/`images` cell names), its text under `text/NAME.txt` and
//! what Docket knows of it under `metadata/NAME.json`.

use std::collections::HashSet;

use bytes::Bytes;
use docket_core::{blob_keys, Document};
use docket_engine::{HandlerError, ItemContext};
use docket_export::{csv_record, Method, SafeNames, ZipStream};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::handler::{blob_error, store_error, PublishHandler};
use crate::metadata::{docket_facts, file_kind, label, object_type, object_uuid};
use crate::Target;

/// The AMI CSV's columns (ARCHIPELAGO.md: `node_uuid`, `type`, `label` are required).
pub(crate) const COLUMNS: [&str; 6] = [
    "node_uuid",
    "type",
    "label",
    "ismemberof",
    "documents",
    "images",
];

/// Rows carry their texts: keep pages small.
const PAGE: usize = 16;
/// Between the archive writer and the blob upload.
const PIPE: usize = 256 * 1024;

/// A built bundle, in blob storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Built {
    pub csv_key: String,
    pub zip_key: String,
    /// Documents in the set (one CSV row each).
    pub rows: u64,
    pub zip_bytes: u64,
}

pub(crate) async fn build(
    handler: &PublishHandler,
    ctx: &ItemContext,
    target: &Target,
    source_job: &str,
) -> Result<Built, HandlerError> {
    let item = ctx.item();
    let csv_key = blob_keys::publish_bundle(&item.job_id, item.item_id, "csv");
    let zip_key = blob_keys::publish_bundle(&item.job_id, item.item_id, "zip");
    let (zip_out, zip_in) = tokio::io::duplex(PIPE);
    let (csv_out, csv_in) = tokio::io::duplex(PIPE);
    let store_zip = handler.blobs.put_stream(
        &zip_key,
        tokio_util::io::ReaderStream::new(zip_in),
        u64::MAX,
    );
    let store_csv = handler.blobs.put_stream(
        &csv_key,
        tokio_util::io::ReaderStream::new(csv_in),
        u64::MAX,
    );
    let write = write(handler, ctx, target, source_job, zip_out, csv_out);
    let (rows, zip, _) = tokio::try_join!(
        write,
        async {
            store_zip
                .await
                .map_err(|e| blob_error("storing the set's ZIP", e))
        },
        async {
            store_csv
                .await
                .map_err(|e| blob_error("storing the set's CSV", e))
        },
    )?;
    Ok(Built {
        csv_key,
        zip_key,
        rows,
        zip_bytes: zip.size,
    })
}

async fn write<Z, C>(
    handler: &PublishHandler,
    ctx: &ItemContext,
    target: &Target,
    source_job: &str,
    zip_out: Z,
    mut csv: C,
) -> Result<u64, HandlerError>
where
    Z: AsyncWrite + Unpin + Send + 'static,
    C: AsyncWrite + Unpin,
{
    let zip_error = |e: docket_export::ExportError| {
        HandlerError::Transient(format!("writing the set's ZIP failed: {e}"))
    };
    let csv_error =
        |e: std::io::Error| HandlerError::Transient(format!("writing the set's CSV failed: {e}"));
    let mut zip = ZipStream::new(zip_out);
    csv.write_all(csv_record(COLUMNS).as_bytes())
        .await
        .map_err(csv_error)?;
    let mut names = SafeNames::new();
    let mut seen_content: HashSet<String> = HashSet::new();
    let mut rows = 0u64;
    let mut after = 0i64;
    loop {
        // One query per page, with each document and its text (not a read per document).
        let page = handler
            .store
            .export_rows(source_job, after, PAGE, true)
            .await
            .map_err(|e| store_error("listing the job's documents", e))?;
        let Some(last) = page.last().map(|r| r.item_id) else {
            break;
        };
        after = last;
        for row in page {
            let Some(doc) = document_of(row, &ctx.item().user, source_job) else {
                continue;
            };
            // One row per content: AMI would refuse a repeated `node_uuid` anyway.
            if !seen_content.insert(doc.sha256.clone()) {
                continue;
            }
            let name = names.unique(&doc.name);
            let entry = format!("files/{name}");
            add_document(handler, &mut zip, &doc, &name, &entry)
                .await
                .map_err(|e| match e {
                    Added::Zip(e) => zip_error(e),
                    Added::Blob(e) => e,
                })?;
            let kind = file_kind(&doc.media_type);
            let cells = [
                object_uuid(target, &doc.sha256).to_string(),
                object_type(target, &doc),
                label(&doc),
                target.collection.clone().unwrap_or_default(),
                if kind == "images" {
                    String::new()
                } else {
                    entry.clone()
                },
                if kind == "images" {
                    entry
                } else {
                    String::new()
                },
            ];
            csv.write_all(csv_record(cells.iter().map(String::as_str)).as_bytes())
                .await
                .map_err(csv_error)?;
            rows += 1;
        }
    }
    zip.finish().await.map_err(zip_error)?;
    csv.shutdown().await.map_err(csv_error)?;
    Ok(rows)
}

/// A succeeded item's document, as the metadata helpers take it.
fn document_of(row: docket_store::ExportRow, user: &str, job: &str) -> Option<Document> {
    if row.state != docket_core::ItemState::Succeeded {
        return None;
    }
    let d = row.document?;
    Some(Document {
        id: d.id,
        user: user.to_string(),
        job_id: Some(job.to_string()),
        name: row.name,
        sha256: d.sha256,
        media_type: d.media_type,
        size: d.size,
        pages: d.pages,
        text: d.text.unwrap_or_default(),
        category: d.category,
        confidence: d.confidence,
        metadata: d.metadata,
        created_at: 0,
    })
}

enum Added {
    Zip(docket_export::ExportError),
    Blob(HandlerError),
}

async fn add_document(
    handler: &PublishHandler,
    zip: &mut ZipStream,
    doc: &Document,
    name: &str,
    entry: &str,
) -> Result<(), Added> {
    let (size, mut chunks) = handler
        .blobs
        .get_stream(&blob_keys::file(&doc.sha256))
        .await
        .map_err(|e| Added::Blob(blob_error("reading an original", e)))?;
    zip.start_entry(entry, Method::Stored, Some(size))
        .await
        .map_err(Added::Zip)?;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| Added::Blob(blob_error("reading an original", e)))?;
        zip.write(chunk).await.map_err(Added::Zip)?;
    }
    zip.entry(
        &format!("text/{name}.txt"),
        Method::Deflated,
        Bytes::from(doc.text.clone()),
    )
    .await
    .map_err(Added::Zip)?;
    let metadata = json!({"docket": docket_facts(doc), "metadata": doc.metadata});
    zip.entry(
        &format!("metadata/{name}.json"),
        Method::Deflated,
        Bytes::from(metadata.to_string()),
    )
    .await
    .map_err(Added::Zip)
}
