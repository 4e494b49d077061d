use docket_core::{
    ItemPayload, ItemTarget, JobKind, JobOptions, JobSource, JobState, Millis, Stage,
};
use serde::{Deserialize, Serialize};

/// A job to create, with its items.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// A pre-generated id (uploads are stored under it before the job exists); `None` makes one.
    pub id: Option<String>,
    pub user: String,
    pub kind: JobKind,
    pub options: JobOptions,
    pub idempotency_key: Option<String>,
    pub items: Vec<NewItem>,
    /// Where the items come from when the job lists them itself (a server folder). Such a job is
    /// created with no items and stays unsealed until its listing is done.
    pub source: Option<JobSource>,
}

#[derive(Debug, Clone)]
pub struct NewItem {
    pub name: String,
    pub payload: ItemPayload,
}

#[derive(Debug, Clone)]
pub struct Created {
    pub job: docket_core::Job,
    /// False when an earlier submit with the same idempotency key is returned.
    pub created: bool,
}

/// An item a worker now holds under a lease.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub item_id: i64,
    pub job_id: String,
    /// The job's owner.
    pub user: String,
    pub kind: JobKind,
    pub name: String,
    pub payload: ItemPayload,
    /// Including this attempt.
    pub attempts: u32,
    pub max_retries: u32,
    pub timeout_ms: i64,
    /// Where an earlier, paused attempt stopped.
    pub stage: Stage,
    pub checkpoint: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct Completion {
    pub item_id: i64,
    pub job_id: String,
    /// The attempt the outcome was produced for (`Claimed::attempts`): it applies only while
    /// the item still runs under that attempt, never to a later one.
    pub attempt: u32,
    pub target: ItemTarget,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompleteReport {
    pub applied: usize,
    pub lost: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProgressUpdate {
    pub item_id: i64,
    pub stage: Stage,
    pub progress: f64,
    /// Whether a worker has picked the item up (`false` while it waits in a local queue): only
    /// started items are `current_items`.
    pub started: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobControl {
    pub id: String,
    pub state: JobState,
    pub pause_requested: bool,
}

#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub user: Option<String>,
    pub state: Option<JobState>,
    pub kind: Option<JobKind>,
    pub limit: usize,
    /// The id of the last job of the previous page.
    pub cursor: Option<String>,
    /// Only jobs that are unfinished or changed after this time (live views).
    pub live_since: Option<docket_core::Millis>,
}

#[derive(Debug, Clone, Default)]
pub struct ItemQuery {
    pub state: Option<docket_core::ItemState>,
    pub limit: usize,
    /// The numeric id of the last item of the previous page.
    pub after: Option<i64>,
}

/// A position in a job's stream of item changes: changes are ordered by (event number, item).
/// Written as `"{seq}-{item}"`, which is what SSE clients send back as `Last-Event-ID`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeCursor {
    pub seq: i64,
    pub item_id: i64,
}

impl std::fmt::Display for ChangeCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.seq, self.item_id)
    }
}

impl std::str::FromStr for ChangeCursor {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (seq, item_id) = s.trim().split_once('-').ok_or(())?;
        let cursor = ChangeCursor {
            seq: seq.parse().map_err(|_| ())?,
            item_id: item_id.parse().map_err(|_| ())?,
        };
        if cursor.seq < 0 || cursor.item_id < 0 {
            return Err(());
        }
        Ok(cursor)
    }
}

/// An item as of its latest state change, and where that change sits in the job's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemChange {
    pub cursor: ChangeCursor,
    pub item: docket_core::Item,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    pub item_id: i64,
    pub name: String,
    pub output: serde_json::Value,
}

/// A job whose source a worker now lists, under a lease.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub job_id: String,
    pub kind: JobKind,
    pub user: String,
    pub source: JobSource,
    /// Items already added by earlier (interrupted) listings: skip that many.
    pub listed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: String,
    pub user: String,
    pub label: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A document to store for an item; written idempotently, keyed by the item.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub user: String,
    pub job_id: String,
    pub item_id: i64,
    pub name: String,
    pub sha256: String,
    pub media_type: String,
    pub size: i64,
    pub pages: i64,
    pub text: String,
    pub category: Option<String>,
    pub confidence: Option<f64>,
    pub metadata: serde_json::Value,
    /// What the document was processed with; see [`crate::Store::find_processed`].
    pub options_key: String,
}

/// A full-text search over one user's documents.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub user: String,
    /// Words to find (all of them); quotes and operators are taken literally.
    pub q: String,
    pub category: Option<String>,
    pub job_id: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub document_id: String,
    pub name: String,
    /// Higher is better.
    pub score: f64,
    /// A fragment of the text with the matches between `<mark>` and `</mark>`.
    pub snippet: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub category: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResults {
    pub total: i64,
    pub hits: Vec<SearchHit>,
}

/// A search row as both backends select it: id, name, score, snippet, category.
pub(crate) type SearchRow = (String, String, f64, String, Option<String>);

/// A page of search rows as hits, scores rounded to three decimals.
pub(crate) fn search_hits(rows: Vec<SearchRow>) -> Vec<SearchHit> {
    rows.into_iter()
        .map(|(document_id, name, score, snippet, category)| SearchHit {
            document_id,
            name,
            score: (score * 1000.0).round() / 1000.0,
            snippet,
            category,
        })
        .collect()
}

/// The words of a query, without anything a search syntax could take for an operator.
pub fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(32)
        .map(|w| w.to_lowercase())
        .collect()
}

/// What follows a webhook delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookNext {
    Delivered,
    RetryAt(docket_core::Millis),
    GiveUp,
}

impl WebhookNext {
    pub(crate) fn columns(self) -> (&'static str, Option<docket_core::Millis>) {
        match self {
            WebhookNext::Delivered => ("delivered", None),
            WebhookNext::RetryAt(at) => ("pending", Some(at)),
            WebhookNext::GiveUp => ("failed", None),
        }
    }
}

/// A classification rule of one user (SPEC §6), as stored. Its meaning lives in
/// `docket-classify`; the store only keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    pub id: String,
    pub name: String,
    /// `any`, `all`, `literal`, `regex`, `fuzzy` or `auto`.
    pub algorithm: String,
    pub pattern: String,
    pub case_insensitive: bool,
    #[serde(with = "docket_core::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: docket_core::Millis,
    #[serde(with = "docket_core::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: docket_core::Millis,
}

/// A category to create, or what to replace one with.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRule {
    pub name: String,
    pub algorithm: String,
    pub pattern: String,
    pub case_insensitive: bool,
}

/// A user's learned classifier, as stored: trained at `labels_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    pub labels_version: i64,
    /// `None` when there was too little to learn from.
    pub model: Option<String>,
}

/// One finished item of a job as exports see it: what the flat results and the bundles list.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub item_id: i64,
    pub name: String,
    /// `succeeded`, `failed` or `cancelled`.
    pub state: docket_core::ItemState,
    /// The last error message, for a failed item.
    pub error: Option<String>,
    /// The item's document, for a succeeded item that made one (noop items do not).
    pub document: Option<ExportDocument>,
    /// How the category was decided (`rule:…`, `auto`), from the item's result.
    pub matched_by: Option<String>,
    /// Whether the results of an earlier document with the same bytes were reused.
    pub reused: bool,
    /// The item's result as its handler wrote it (succeeded items).
    pub output: Option<serde_json::Value>,
}

/// The document part of an [`ExportRow`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExportDocument {
    pub id: String,
    pub sha256: String,
    pub media_type: String,
    pub size: i64,
    pub pages: i64,
    pub category: Option<String>,
    pub confidence: Option<f64>,
    pub metadata: serde_json::Value,
    /// Only when asked for (`with_text`).
    pub text: Option<String>,
}

/// A resumable upload to create (`POST /v1/uploads`).
#[derive(Debug, Clone)]
pub struct NewResumableUpload {
    pub id: String,
    pub user: String,
    /// The whole upload's size in bytes (tus `Upload-Length`).
    pub length: u64,
    /// The file's name (tus metadata `filename`), cleaned by the caller.
    pub name: String,
    /// tus metadata `filetype`, if sent.
    pub media_type: Option<String>,
    /// The `Upload-Metadata` header as received, answered back on `HEAD`.
    pub metadata: String,
    /// The hash state of no bytes (opaque to the store).
    pub hash_state: String,
    /// Where its bytes are stored.
    pub blob: String,
    /// Where its object-storage upload stands (opaque to the store), if it is one.
    pub object_state: Option<String>,
    pub expires_at: Millis,
}

/// A resumable upload as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResumableUpload {
    pub id: String,
    pub user_id: String,
    pub length: i64,
    /// Bytes received and durable: the tus `Upload-Offset`.
    pub received: i64,
    pub name: String,
    pub media_type: Option<String>,
    pub metadata: String,
    pub hash_state: String,
    /// The whole file's SHA-256 (hex), once every byte has arrived.
    pub sha256: Option<String>,
    pub blob: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub expires_at: Millis,
    /// The job that consumed it, once submitted.
    pub job_id: Option<String>,
    /// Where its object-storage upload stands, as of `received` (opaque to the store).
    pub object_state: Option<String>,
}

impl ResumableUpload {
    pub fn is_finished(&self) -> bool {
        self.received == self.length
    }

    /// Expired (or terminated) and not consumed: nothing may touch it any more.
    pub fn is_expired(&self, now: Millis) -> bool {
        self.job_id.is_none() && self.expires_at <= now
    }
}

/// What one `PATCH` acknowledges: the offset moves from `from` to `to`.
#[derive(Debug, Clone, Copy)]
pub struct UploadAdvance<'a> {
    pub from: u64,
    pub to: u64,
    pub hash_state: &'a str,
    /// The finished file's SHA-256, when `to` is the upload's length.
    pub sha256: Option<&'a str>,
    /// Unused uploads expire this long after their last `PATCH`.
    pub expires_at: Millis,
    /// The object-storage upload's state as of `to` (kept as it was when `None`).
    pub object_state: Option<&'a str>,
}

/// A schedule to create (`POST /v1/schedules`), checked by the caller.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub id: String,
    pub user: String,
    pub settings: ScheduleSettings,
}

/// What a schedule is and does, as a whole: created with it and replaced by a change.
#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    pub cron: String,
    pub timezone: String,
    pub job: docket_core::JobTemplate,
    pub enabled: bool,
    /// The next tick, computed by the caller from the cron expression (`None` when disabled).
    pub next_run_at: Option<Millis>,
}

/// What one tick of a schedule did: the job it made, or why it made none.
#[derive(Debug, Clone)]
pub enum TickOutcome {
    Submitted { job_id: String },
    Refused { error: String },
}
