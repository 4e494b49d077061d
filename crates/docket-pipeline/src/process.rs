use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use docket_blobs::{BlobError, Blobs};
use docket_core::{blob_keys, ItemPayload, OcrProvider, Stage};
use docket_engine::{Handler, HandlerError, ItemContext};
use docket_extract::pool::{ExtractorPool, Request, Source};
use docket_extract::{ExtractError, Extracted, Extraction, Limits, Options, Progress};
use docket_store::prelude::*;
use docket_store::NewDocument;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::checkpoint::{
    known_pages, read_text, text_key, write_text, Checkpoint, ExtractedFacts, SavePages,
};
use crate::classification::Classifiers;
use crate::ocr::OcrProviders;

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

/// OCR languages used when a job names none.
const DEFAULT_LANGUAGES: &[&str] = &["eng"];

/// Job options cached per job: a job's options never change, and reading them once per item
/// would cost a query per document.
const LANGUAGE_CACHE_MAX: usize = 4096;

/// extract → classify → index for one document (SPEC §3 stages).
///
/// Extraction runs in the child processes of an [`ExtractorPool`], never in this process: a
/// parser that crashes, hangs or runs out of memory costs its item, not the worker.
pub struct ProcessHandler {
    store: Arc<dyn Store>,
    blobs: Blobs,
    limits: ProcessLimits,
    extractor: ExtractorPool,
    job_ocr: Mutex<HashMap<String, JobOcr>>,
    classifiers: Option<Classifiers>,
    ocr: OcrProviders,
}

/// An extraction that took less than this (and OCR'd nothing) is not kept in the item's
/// checkpoint: a text blob and one or two checkpoint writes per document cost more than
/// extracting it again after a crash would.
const KEEP_EXTRACTION_AFTER: Duration = Duration::from_secs(1);

/// What extraction gave an item, and whether it is kept in the item's checkpoint.
struct ExtractedText {
    facts: ExtractedFacts,
    text: String,
    checkpointed: bool,
}

/// How a job's pages are OCR'd (`options.ocr`).
#[derive(Debug, Clone)]
struct JobOcr {
    languages: Vec<String>,
    provider: OcrProvider,
}

impl ProcessHandler {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Blobs,
        limits: ProcessLimits,
        extractor: ExtractorPool,
    ) -> ProcessHandler {
        ProcessHandler {
            store,
            blobs,
            limits,
            extractor,
            job_ocr: Mutex::new(HashMap::new()),
            classifiers: None,
            ocr: OcrProviders::default(),
        }
    }

    /// The remote OCR providers jobs may choose (`options.ocr.provider`).
    pub fn with_ocr(mut self, ocr: OcrProviders) -> ProcessHandler {
        self.ocr = ocr;
        self
    }

    /// Classifies each document with its owner's categories and model.
    pub fn with_classifiers(mut self, classifiers: Classifiers) -> ProcessHandler {
        self.classifiers = Some(classifiers);
        self
    }

    async fn load(&self, payload: &ItemPayload) -> Result<Vec<u8>, HandlerError> {
        let limit = self.limits.max_file_bytes;
        let too_big = |size: u64| {
            HandlerError::Permanent(format!(
                "the file is {size} bytes; the limit is {limit} bytes"
            ))
        };
        match payload {
            ItemPayload::Upload { blob, .. } => {
                let size = self.blobs.size(blob).await.map_err(blob_error)?;
                if size > limit {
                    return Err(too_big(size));
                }
                Ok(self.blobs.get(blob).await.map_err(blob_error)?.to_vec())
            }
            ItemPayload::PackedUpload {
                blob, offset, size, ..
            } => {
                if *size > limit {
                    return Err(too_big(*size));
                }
                let bytes = self
                    .blobs
                    .get_range(blob, *offset, *size)
                    .await
                    .map_err(blob_error)?;
                Ok(bytes.to_vec())
            }
            ItemPayload::ServerFile { path } => {
                let shown = path.display().to_string();
                let meta = tokio::fs::metadata(path)
                    .await
                    .map_err(|e| io_error(&shown, e))?;
                if meta.len() > limit {
                    return Err(too_big(meta.len()));
                }
                tokio::fs::read(path).await.map_err(|e| io_error(&shown, e))
            }
            ItemPayload::Unreadable(why) => Err(HandlerError::Permanent(why.clone())),
            other => Err(HandlerError::Permanent(format!(
                "a `process` item must name a file, but this one carries {}",
                other.describe()
            ))),
        }
    }

    /// The OCR languages of the item's job (`options.ocr.languages`, `eng` if it names none)
    /// and its provider.
    async fn job_ocr(&self, job_id: &str) -> Result<JobOcr, HandlerError> {
        if let Some(cached) = self
            .job_ocr
            .lock()
            .ok()
            .and_then(|c| c.get(job_id).cloned())
        {
            return Ok(cached);
        }
        let job = self
            .store
            .get_job(job_id, docket_core::now_millis())
            .await
            .map_err(|e| store_error("reading the job's options", e))?
            .ok_or_else(|| HandlerError::Permanent("the item's job is gone".into()))?;
        let provider = job.options.ocr_provider();
        let languages = match job.options.ocr {
            Some(ocr) if !ocr.languages.is_empty() => ocr.languages,
            _ => DEFAULT_LANGUAGES.iter().map(|l| (*l).to_owned()).collect(),
        };
        let job_ocr = JobOcr {
            languages,
            provider,
        };
        if let Ok(mut cache) = self.job_ocr.lock() {
            if cache.len() >= LANGUAGE_CACHE_MAX {
                cache.clear();
            }
            cache.insert(job_id.to_owned(), job_ocr.clone());
        }
        Ok(job_ocr)
    }

    /// Stores `bytes` under `key` unless a blob of that size is already there (keys are
    /// content-addressed, so an equal size means equal content).
    async fn put_once(&self, key: &str, bytes: Bytes, what: &str) -> Result<(), HandlerError> {
        match self.blobs.size(key).await {
            Ok(size) if size == bytes.len() as u64 => return Ok(()),
            Ok(_) | Err(BlobError::NotFound(_)) => {}
            Err(e) => return Err(blob_store_error(what, e)),
        }
        self.blobs
            .put(key, bytes)
            .await
            .map_err(|e| blob_store_error(what, e))
    }

    /// Extracts in the pool, moving the item's progress through 30–60 page by page and saving
    /// each OCR'd page as it is done (see [`SavePages`]), and stops the parser before the
    /// item's own timeout runs out.
    async fn extract(
        &self,
        ctx: &ItemContext,
        bytes: Vec<u8>,
        options: Options,
        budget: Duration,
        pages: &mut SavePages<'_>,
    ) -> Result<Extraction, HandlerError> {
        let request = Request {
            source: Source::Bytes(bytes),
            name: ctx.item().name.clone(),
            options,
        };
        let progress = |p: Progress| ctx.set_progress(extracting_progress(p));
        let extraction = self.extractor.extract_paged(request, progress, pages);
        let result = match tokio::time::timeout(budget, extraction).await {
            Ok(result) => result,
            // Dropping the pool's future kills the child.
            Err(_) => Err(ExtractError::Timeout {
                seconds: budget.as_secs_f64().ceil() as u64,
            }),
        };
        result.map_err(|e| match (e, pages.stopped.take()) {
            // Told to stop by the page sink: its reason (a pause, a lost item, a failed save).
            (ExtractError::Stopped, Some(why)) => why,
            (e, _) if e.is_transient() => HandlerError::Transient(e.to_string()),
            (e, _) => HandlerError::Permanent(e.to_string()),
        })
    }

    /// Loads and extracts the item's document (or reuses an earlier copy's results), keeping
    /// the text and what extraction learned in the checkpoint. OCR'd pages an earlier attempt
    /// saved are not OCR'd again.
    async fn load_and_extract(
        &self,
        ctx: &ItemContext,
        started: Instant,
        options_key: &str,
        job_ocr: JobOcr,
        mut checkpoint: Checkpoint,
    ) -> Result<ExtractedText, HandlerError> {
        let item = ctx.item();
        ctx.enter_stage(Stage::Loading)?;
        let bytes = self.load(&item.payload).await?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as i64;

        ctx.enter_stage(Stage::Extracting)?;
        let extraction_started = Instant::now();
        // The same file processed with the same options before: reuse what it gave.
        let earlier = self
            .store
            .find_processed(&item.user, &sha256, options_key)
            .await
            .map_err(|e| store_error("looking for an earlier copy", e))?;
        let (extracted, reused_from) = match earlier {
            Some(doc) => {
                let extracted = Extracted {
                    media_type: doc.media_type,
                    text: doc.text,
                    pages: u32::try_from(doc.pages).unwrap_or(0),
                    metadata: doc.metadata,
                };
                (extracted, Some(doc.id))
            }
            None => {
                let known_pages = known_pages(ctx, &self.blobs, &mut checkpoint).await?;
                let reader = self.ocr.reader(job_ocr.provider, &job_ocr.languages)?;
                let options = Options {
                    limits: self.limits.extract,
                    languages: job_ocr.languages,
                    thumbnail: true,
                    known_pages,
                    delegate_ocr: reader.as_ref().map(|r| r.batch()),
                };
                let original = Bytes::from(bytes);
                let mut pages = SavePages {
                    ctx,
                    blobs: &self.blobs,
                    checkpoint,
                    stopped: None,
                    reader,
                };
                let Extraction {
                    mut extracted,
                    thumbnail,
                } = self
                    .extract(
                        ctx,
                        original.to_vec(),
                        options,
                        parser_budget(item.timeout_ms, started),
                        &mut pages,
                    )
                    .await?;
                record_ocr(&mut extracted, job_ocr.provider, &pages.checkpoint);
                // Kept only for documents that extracted: a hostile file is not worth storing.
                self.put_once(&blob_keys::file(&sha256), original, "original file")
                    .await?;
                if let Some(png) = thumbnail {
                    self.put_once(
                        &blob_keys::thumbnail(&sha256),
                        Bytes::from(png),
                        "thumbnail",
                    )
                    .await?;
                }
                (extracted, None)
            }
        };
        let facts = ExtractedFacts {
            sha256,
            size,
            media_type: extracted.media_type,
            pages: extracted.pages,
            metadata: extracted.metadata,
            reused_from,
        };
        let worth_keeping = facts.reused_from.is_none()
            && (extraction_started.elapsed() >= KEEP_EXTRACTION_AFTER
                || facts.metadata.get("ocr_pages").is_some());
        if worth_keeping {
            // The text first, then the checkpoint naming it: a crash between the two only
            // costs the extraction again.
            write_text(&self.blobs, &text_key(ctx), &extracted.text).await?;
            Checkpoint {
                extracted: Some(facts.clone()),
                ..Checkpoint::default()
            }
            .save(ctx)
            .await?;
        }
        Ok(ExtractedText {
            facts,
            text: extracted.text,
            checkpointed: worth_keeping,
        })
    }

    /// What extraction produced, from the checkpoint if an earlier attempt got that far.
    async fn extracted(
        &self,
        ctx: &ItemContext,
        started: Instant,
        options_key: &str,
        job_ocr: JobOcr,
        checkpoint: &Checkpoint,
    ) -> Result<ExtractedText, HandlerError> {
        if let Some(facts) = &checkpoint.extracted {
            if let Some(text) = read_text(&self.blobs, &text_key(ctx)).await? {
                return Ok(ExtractedText {
                    facts: facts.clone(),
                    text,
                    checkpointed: true,
                });
            }
        }
        self.load_and_extract(ctx, started, options_key, job_ocr, checkpoint.clone())
            .await
    }
}

/// Progress of an item `p.page` of `p.pages` through extraction: 30 to 60 (SPEC §3).
fn extracting_progress(p: Progress) -> f64 {
    let start = Stage::Extracting.progress();
    let end = Stage::Classifying.progress();
    let fraction = if p.pages == 0 {
        0.0
    } else {
        (f64::from(p.page) / f64::from(p.pages)).clamp(0.0, 1.0)
    };
    start + (end - start) * fraction
}

/// What a document's results depend on besides its bytes: the extractor's output format, the
/// OCR languages and provider. Two copies of a file with the same key give the same document.
fn options_key(job_ocr: &JobOcr) -> String {
    let languages = job_ocr.languages.join("+");
    match job_ocr.provider {
        // As before providers existed, so documents read earlier are still found.
        OcrProvider::Tesseract => format!("extract-v1;ocr={languages}"),
        provider => format!("extract-v1;ocr={languages};provider={provider}"),
    }
}

/// Records in the document's metadata who read its OCR'd pages (SPEC §6): `ocr_provider`,
/// and for a PDF, whose pages may also come from its text layer, `ocr_page_numbers`
/// (1-based; the other pages were read from the text layer on this machine).
fn record_ocr(extracted: &mut Extracted, provider: OcrProvider, checkpoint: &Checkpoint) {
    let Some(metadata) = extracted.metadata.as_object_mut() else {
        return;
    };
    if metadata
        .get("ocr_pages")
        .and_then(|n| n.as_u64())
        .unwrap_or(0)
        == 0
    {
        return;
    }
    metadata.insert("ocr_provider".into(), provider.as_str().into());
    if extracted.media_type == docket_extract::media::PDF && !checkpoint.ocr_pages.is_empty() {
        let numbers: Vec<u32> = checkpoint.ocr_pages.iter().map(|i| i + 1).collect();
        metadata.insert("ocr_page_numbers".into(), json!(numbers));
    }
}

/// How long the parser may run: what is left of the item's timeout, less a margin so that the
/// parser is stopped (with its own message) before the engine gives up on the whole item.
fn parser_budget(timeout_ms: i64, started: Instant) -> Duration {
    let timeout = Duration::from_millis(timeout_ms.max(1) as u64);
    let margin = (timeout / 20).clamp(Duration::from_millis(50), Duration::from_secs(2));
    timeout
        .saturating_sub(started.elapsed())
        .saturating_sub(margin)
        .max(Duration::from_millis(1))
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

fn blob_store_error(what: &str, e: BlobError) -> HandlerError {
    if e.is_transient() {
        HandlerError::Transient(format!("storing the {what} failed: {e}"))
    } else {
        HandlerError::Permanent(format!("storing the {what} failed: {e}"))
    }
}

pub(crate) fn store_error(what: &str, e: docket_store::StoreError) -> HandlerError {
    if e.is_transient() {
        HandlerError::Transient(format!("{what} failed: {e}"))
    } else {
        HandlerError::Permanent(format!("{what} failed: {e}"))
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
        let started = Instant::now();
        let item = ctx.item();
        let job_ocr = self.job_ocr(&item.job_id).await?;
        let options_key = options_key(&job_ocr);
        let checkpoint = Checkpoint::of(ctx);
        let resumed = checkpoint.extracted.is_some();
        let ExtractedText {
            facts,
            text,
            checkpointed,
        } = self
            .extracted(ctx, started, &options_key, job_ocr, &checkpoint)
            .await?;

        ctx.enter_stage(Stage::Classifying)?;
        let (decided, text) = match (&checkpoint.classified, &self.classifiers) {
            (Some(decided), _) if resumed => (decided.clone(), text),
            (_, Some(classifiers)) => {
                let (decided, text) = classifiers
                    .classify(&item.user, text)
                    .await
                    .map_err(|e| store_error("classifying", e))?;
                // Only beside a kept extraction: without one, another attempt extracts and
                // classifies again anyway.
                if checkpointed {
                    Checkpoint {
                        extracted: Some(facts.clone()),
                        classified: Some(decided.clone()),
                        ..Checkpoint::default()
                    }
                    .save(ctx)
                    .await?;
                }
                (decided, text)
            }
            (_, None) => (None, text),
        };
        ctx.enter_stage(Stage::Indexing)?;
        let chars = text.chars().count();
        let document = NewDocument {
            user: item.user.clone(),
            job_id: item.job_id.clone(),
            item_id: item.item_id,
            name: item.name.clone(),
            sha256: facts.sha256.clone(),
            media_type: facts.media_type.clone(),
            size: facts.size,
            pages: i64::from(facts.pages),
            text,
            category: decided.as_ref().map(|c| c.category.clone()),
            confidence: decided.as_ref().map(|c| f64::from(c.confidence)),
            metadata: facts.metadata,
            options_key,
        };
        let document_id = self
            .store
            .put_document(document, docket_core::now_millis())
            .await
            .map_err(|e| store_error("storing the document", e))?;
        Ok(json!({
            "document_id": document_id,
            "media_type": facts.media_type,
            "pages": facts.pages,
            "chars": chars,
            "sha256": facts.sha256,
            "size": facts.size,
            "category": decided.as_ref().map(|c| c.category.clone()),
            "matched_by": decided.map(|c| c.matched_by),
            "reused_from": facts.reused_from,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_progress_spans_extracting() {
        let at = |page, pages| extracting_progress(Progress { page, pages });
        assert_eq!(at(0, 10), 30.0);
        assert_eq!(at(5, 10), 45.0);
        assert_eq!(at(10, 10), 60.0);
        assert_eq!(at(12, 10), 60.0);
        assert_eq!(at(1, 0), 30.0);
    }

    #[test]
    fn parser_stops_before_the_item_times_out() {
        let started = Instant::now();
        let budget = parser_budget(600_000, started);
        assert!(budget < Duration::from_secs(600));
        assert!(budget >= Duration::from_secs(597), "{budget:?}");
        let short = parser_budget(1_000, started);
        assert!(short < Duration::from_secs(1) && short > Duration::from_millis(900));
        assert_eq!(parser_budget(0, started), Duration::from_millis(1));
    }
}
