//! What a `process` item keeps between attempts, so that a paused, interrupted or taken-over
//! item resumes at its first unfinished stage: the OCR'd pages of a document still being
//! extracted, then what extraction produced, then the classification.
//!
//! The checkpoint itself (a small JSON value in the item's row) only names what is done; texts
//! live in blobs under the job's upload prefix (`uploads/{job}/checkpoints/{item}/…`), so that
//! deleting a job's blobs deletes them too.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use bytes::Bytes;
use docket_blobs::{BlobError, Blobs};
use docket_classify::Classification;
use docket_engine::{HandlerError, ItemContext};
use docket_extract::pool::PageSink;
use docket_extract::PageImage;
use serde::{Deserialize, Serialize};

use crate::ocr::RemoteReader;
use crate::vision::PageRead;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// PDF pages (0-based) OCR'd so far, while extraction is unfinished; the text of each is
    /// in the blob [`page_key`].
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub ocr_pages: BTreeSet<u32>,
    /// Set once extraction finished; the text is in the blob [`text_key`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted: Option<ExtractedFacts>,
    /// Set once classification finished (`None` inside: no category applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classified: Option<Option<Classification>>,
}

/// What extraction learned about the document, besides its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExtractedFacts {
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub pages: u32,
    pub metadata: serde_json::Value,
    /// The earlier document whose results were reused, if any.
    pub reused_from: Option<String>,
}

impl Checkpoint {
    /// The item's checkpoint; one that does not parse (written by an older version) is
    /// ignored, costing only the work it would have saved.
    pub fn of(ctx: &ItemContext) -> Checkpoint {
        ctx.checkpoint()
            .and_then(|value| serde_json::from_value(value).ok())
            .unwrap_or_default()
    }

    pub async fn save(&self, ctx: &ItemContext) -> Result<(), HandlerError> {
        let value = serde_json::to_value(self)
            .map_err(|e| HandlerError::Permanent(format!("encoding the checkpoint: {e}")))?;
        ctx.save_checkpoint(value).await
    }
}

/// The OCR'd text of page `index` of the item's document.
pub(crate) fn page_key(ctx: &ItemContext, index: u32) -> String {
    let item = ctx.item();
    docket_core::blob_keys::checkpoint_page(&item.job_id, item.item_id, index)
}

/// The extracted text of the item's document.
pub(crate) fn text_key(ctx: &ItemContext) -> String {
    let item = ctx.item();
    docket_core::blob_keys::checkpoint_text(&item.job_id, item.item_id)
}

/// A text blob, or `None` if it is gone (the work it saved is then done again).
pub(crate) async fn read_text(blobs: &Blobs, key: &str) -> Result<Option<String>, HandlerError> {
    match blobs.get(key).await {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(BlobError::NotFound(_)) => Ok(None),
        Err(e) => Err(checkpoint_blob_error(e)),
    }
}

pub(crate) async fn write_text(blobs: &Blobs, key: &str, text: &str) -> Result<(), HandlerError> {
    blobs
        .put(key, Bytes::copy_from_slice(text.as_bytes()))
        .await
        .map_err(checkpoint_blob_error)
}

fn checkpoint_blob_error(e: BlobError) -> HandlerError {
    let message = format!("keeping the item's checkpoint failed: {e}");
    if e.is_transient() {
        HandlerError::Transient(message)
    } else {
        HandlerError::Permanent(message)
    }
}

/// The texts of the pages an earlier attempt OCR'd, for the extractor to take as they are.
pub(crate) async fn known_pages(
    ctx: &ItemContext,
    blobs: &Blobs,
    checkpoint: &mut Checkpoint,
) -> Result<BTreeMap<u32, String>, HandlerError> {
    let mut known = BTreeMap::new();
    for index in checkpoint.ocr_pages.clone() {
        match read_text(blobs, &page_key(ctx, index)).await? {
            Some(text) => {
                known.insert(index, text);
            }
            None => {
                checkpoint.ocr_pages.remove(&index);
            }
        }
    }
    Ok(known)
}

/// Saves each page the extractor OCR'd (its text in a blob, then its index in the checkpoint)
/// before the extractor starts the next, and stops the extractor there if the job is pausing.
/// With a remote provider it also has the pages the extractor hands over read, and saves
/// each before answering.
pub(crate) struct SavePages<'a> {
    pub ctx: &'a ItemContext,
    pub blobs: &'a Blobs,
    pub checkpoint: Checkpoint,
    /// Why the extractor was told to stop.
    pub stopped: Option<HandlerError>,
    pub reader: Option<RemoteReader>,
}

impl SavePages<'_> {
    /// Has `images` read remotely and saves every page that was read, even when another
    /// page of the request failed: a retry sends only the pages still unread.
    async fn read_remotely(&mut self, images: Vec<PageImage>) -> Result<Vec<String>, HandlerError> {
        let reader = self.reader.as_ref().ok_or_else(|| {
            HandlerError::Permanent("no remote OCR provider for this item".into())
        })?;
        let reads = reader.read(self.ctx, &images).await?;
        let mut texts = Vec::with_capacity(reads.len());
        let mut failed = None;
        for (image, read) in images.iter().zip(reads) {
            match read {
                PageRead::Text(text) => {
                    write_text(self.blobs, &page_key(self.ctx, image.index), &text).await?;
                    self.checkpoint.ocr_pages.insert(image.index);
                    texts.push(text);
                }
                PageRead::Failed { message, transient } => {
                    let message = format!("page {}: {message}", image.index + 1);
                    failed.get_or_insert(if transient {
                        HandlerError::Transient(message)
                    } else {
                        HandlerError::Permanent(message)
                    });
                    texts.push(String::new());
                }
            }
        }
        if !texts.is_empty() {
            self.checkpoint.save(self.ctx).await?;
        }
        if let Some(failed) = failed {
            return Err(failed);
        }
        self.ctx.stop_point()?;
        Ok(texts)
    }

    async fn save(&mut self, index: u32, text: &str) -> Result<(), HandlerError> {
        write_text(self.blobs, &page_key(self.ctx, index), text).await?;
        self.checkpoint.ocr_pages.insert(index);
        self.checkpoint.save(self.ctx).await?;
        // A page boundary inside `extracting` is a stop point: a pausing job stops here.
        self.ctx.stop_point()
    }
}

#[async_trait]
impl PageSink for SavePages<'_> {
    async fn page_done(&mut self, index: u32, text: String) -> bool {
        match self.save(index, &text).await {
            Ok(()) => true,
            Err(e) => {
                self.stopped = Some(e);
                false
            }
        }
    }

    async fn read_elsewhere(&mut self, images: Vec<PageImage>) -> Option<Vec<String>> {
        match self.read_remotely(images).await {
            Ok(texts) => Some(texts),
            Err(e) => {
                self.stopped = Some(e);
                None
            }
        }
    }
}
