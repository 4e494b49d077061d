use std::sync::Arc;

use async_trait::async_trait;
use docket_blobs::{BlobError, Blobs};
use docket_core::Stage;
use docket_engine::{Handler, HandlerError, ItemContext};
use docket_extract::{ExtractError, Limits};
use docket_store::{NewDocument, Store};
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct ProcessLimits {
    /// Largest input file read into memory for extraction.
    pub max_file_bytes: u64,
    pub extract: Limits,
}

impl Default for ProcessLimits {
    fn default() -> Self {
        ProcessLimits {
            max_file_bytes: 512 * 1024 * 1024,
            extract: Limits::default(),
        }
    }
}

/// extract → classify → index for one document (SPEC §3 stages).
pub struct ProcessHandler {
    store: Arc<dyn Store>,
    blobs: Blobs,
    limits: ProcessLimits,
}

impl ProcessHandler {
    pub fn new(store: Arc<dyn Store>, blobs: Blobs, limits: ProcessLimits) -> ProcessHandler {
        ProcessHandler {
            store,
            blobs,
            limits,
        }
    }

    async fn load(&self, payload: &serde_json::Value) -> Result<Vec<u8>, HandlerError> {
        let limit = self.limits.max_file_bytes;
        let too_big = |size: u64| {
            HandlerError::Permanent(format!(
                "the file is {size} bytes; the limit is {limit} bytes"
            ))
        };
        if let Some(key) = payload.get("blob").and_then(|v| v.as_str()) {
            let size = self.blobs.size(key).await.map_err(blob_error)?;
            if size > limit {
                return Err(too_big(size));
            }
            return Ok(self.blobs.get(key).await.map_err(blob_error)?.to_vec());
        }
        if let Some(path) = payload.get("path").and_then(|v| v.as_str()) {
            let meta = tokio::fs::metadata(path)
                .await
                .map_err(|e| io_error(path, e))?;
            if meta.len() > limit {
                return Err(too_big(meta.len()));
            }
            return tokio::fs::read(path).await.map_err(|e| io_error(path, e));
        }
        Err(HandlerError::Permanent("the item names no file".into()))
    }
}

fn blob_error(e: BlobError) -> HandlerError {
    match e {
        BlobError::NotFound(_) => {
            HandlerError::Permanent("the uploaded file is gone from storage".into())
        }
        e if e.is_transient() => HandlerError::Transient(format!("reading the upload failed: {e}")),
        e => HandlerError::Permanent(e.to_string()),
    }
}

fn io_error(path: &str, e: std::io::Error) -> HandlerError {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound | PermissionDenied | IsADirectory | InvalidInput | InvalidData => {
            HandlerError::Permanent(format!("cannot read {path}: {e}"))
        }
        _ => HandlerError::Transient(format!("reading {path} failed: {e}")),
    }
}

#[async_trait]
impl Handler for ProcessHandler {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        let item = ctx.item();
        ctx.enter_stage(Stage::Loading)?;
        let bytes = self.load(&item.payload).await?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as i64;

        ctx.enter_stage(Stage::Extracting)?;
        let name = item.name.clone();
        let limits = self.limits.extract;
        // Parsing is CPU work: off the async threads. A panic stays in this item.
        let extracted =
            tokio::task::spawn_blocking(move || docket_extract::extract(&bytes, &name, &limits))
                .await
                .map_err(|e| {
                    HandlerError::Permanent(format!("the parser crashed on this file: {e}"))
                })?
                .map_err(|e: ExtractError| HandlerError::Permanent(e.to_string()))?;

        // Categories and the search index arrive with the classification and search work; the
        // stages are crossed so that pause and progress already behave as they will then.
        ctx.enter_stage(Stage::Classifying)?;
        ctx.enter_stage(Stage::Indexing)?;
        let chars = extracted.text.chars().count();
        let document = NewDocument {
            user: item.user.clone(),
            job_id: item.job_id.clone(),
            item_id: item.item_id,
            name: item.name.clone(),
            sha256: sha256.clone(),
            media_type: extracted.media_type.clone(),
            size,
            pages: i64::from(extracted.pages),
            text: extracted.text,
            category: None,
            confidence: None,
            metadata: extracted.metadata,
        };
        let document_id = self
            .store
            .put_document(document, docket_core::now_millis())
            .await
            .map_err(|e| {
                if e.is_transient() {
                    HandlerError::Transient(format!("storing the document failed: {e}"))
                } else {
                    HandlerError::Permanent(format!("storing the document failed: {e}"))
                }
            })?;
        Ok(json!({
            "document_id": document_id,
            "media_type": extracted.media_type,
            "pages": extracted.pages,
            "chars": chars,
            "sha256": sha256,
            "size": size,
        }))
    }
}
