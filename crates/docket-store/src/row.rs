//! Row shapes shared by both backends (each selects JSON columns as text) and their mapping to
//! domain types.

use docket_core::{
    AttemptError, Counts, Item, ItemId, ItemState, Job, JobBook, JobKind, JobOptions, JobState,
    Millis, PauseReason, Webhook,
};

use crate::StoreError;

/// The columns of `jobs` that every query selects, in this order.
pub(crate) const JOB_COLUMNS: &str = "id, user_id, kind, state, pause_requested, pause_reason, \
    created_at, started_at, updated_at, finished_at, total, pending, running, retrying, \
    succeeded, failed, cancelled, consecutive_failures, failure_streak, auto_pause_after, \
    error, sealed, reused";

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct JobRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub state: String,
    pub pause_requested: bool,
    pub pause_reason: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    pub total: i64,
    pub pending: i64,
    pub running: i64,
    pub retrying: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub consecutive_failures: i64,
    pub failure_streak: i64,
    pub auto_pause_after: i64,
    pub error: Option<String>,
    pub sealed: bool,
    pub reused: i64,
}

/// The extra text columns the job resource needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct JobDetail {
    pub options: String,
    pub result: Option<String>,
    pub notify_url: Option<String>,
    pub notify_state: Option<String>,
    pub notify_attempts: String,
}

/// The detail columns, after [`JOB_COLUMNS`], JSON as text (a cast both dialects read; a
/// no-op on SQLite, which stores it as text).
pub(crate) const JOB_DETAIL_COLUMNS: &str = "CAST(options AS TEXT) AS options, \
    CAST(result AS TEXT) AS result, notify_url, notify_state, \
    CAST(notify_attempts AS TEXT) AS notify_attempts";

/// A job row with its detail, as [`JOB_COLUMNS`] and [`JOB_DETAIL_COLUMNS`] select it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct FullJobRow {
    #[sqlx(flatten)]
    pub job: JobRow,
    #[sqlx(flatten)]
    pub detail: JobDetail,
}

impl JobRow {
    pub fn book(&self) -> Result<JobBook, StoreError> {
        Ok(JobBook {
            state: self.state.parse()?,
            pause_requested: self.pause_requested,
            pause_reason: self.pause_reason.as_deref().map(str::parse).transpose()?,
            counts: self.counts(),
            consecutive_failures: self.consecutive_failures.max(0) as u32,
            failure_streak: self.failure_streak,
            auto_pause_after: self.auto_pause_after.max(0) as u32,
            error: self.error.clone(),
            sealed: self.sealed,
        })
    }

    fn counts(&self) -> Counts {
        Counts {
            total: self.total,
            pending: self.pending,
            running: self.running,
            retrying: self.retrying,
            succeeded: self.succeeded,
            failed: self.failed,
            cancelled: self.cancelled,
            reused: self.reused,
        }
    }

    pub fn into_job(
        self,
        detail: JobDetail,
        current: Current,
        now: Millis,
    ) -> Result<Job, StoreError> {
        let kind: JobKind = self.kind.parse()?;
        let state: JobState = self.state.parse()?;
        let pause_reason: Option<PauseReason> =
            self.pause_reason.as_deref().map(str::parse).transpose()?;
        let options: JobOptions = serde_json::from_str(&detail.options)?;
        let result = detail
            .result
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?;
        let webhook = match (detail.notify_url, detail.notify_state) {
            (Some(url), Some(state)) => Some(Webhook {
                url,
                state: state.parse()?,
                attempts: serde_json::from_str(&detail.notify_attempts)?,
            }),
            _ => None,
        };
        let mut job = Job {
            webhook,
            counts: self.counts(),
            id: self.id,
            user: self.user_id,
            kind,
            state,
            pause_reason,
            pause_requested: self.pause_requested,
            created_at: self.created_at,
            started_at: self.started_at,
            updated_at: self.updated_at,
            finished_at: self.finished_at,
            progress: 0.0,
            items_per_second: 0.0,
            eta_seconds: None,
            current_items: current.names,
            consecutive_failures: self.consecutive_failures.max(0) as u32,
            options,
            error: self.error,
            result,
        };
        job.compute_progress(current.in_flight, now);
        Ok(job)
    }
}

/// A job's items in flight: the summed progress of every claimed item (estimated from a
/// sample when there are many), and the names of the first [`CURRENT_ITEMS`] started ones.
#[derive(Debug, Default)]
pub(crate) struct Current {
    pub in_flight: f64,
    pub names: Vec<String>,
}

/// How many in-flight item names a job resource shows.
pub(crate) const CURRENT_ITEMS: usize = 8;

pub(crate) const ITEM_COLUMNS: &str =
    "id, job_id, name, state, stage, progress, attempts, document_id, next_attempt_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ItemRow {
    pub id: i64,
    pub job_id: String,
    pub name: String,
    pub state: String,
    pub stage: String,
    pub progress: f64,
    pub attempts: i64,
    pub document_id: Option<String>,
    pub next_attempt_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ErrorRow {
    pub item_id: i64,
    pub attempt: i64,
    pub at: i64,
    pub message: String,
    pub transient: bool,
}

impl ItemRow {
    pub fn into_item(self, errors: &[ErrorRow]) -> Result<Item, StoreError> {
        let state: ItemState = self.state.parse()?;
        Ok(Item {
            id: ItemId(self.id).to_string(),
            job_id: self.job_id,
            name: self.name,
            state,
            stage: self.stage,
            progress: self.progress,
            attempts: self.attempts.max(0) as u32,
            document_id: self.document_id,
            next_attempt_at: self.next_attempt_at,
            errors: errors
                .iter()
                .filter(|e| e.item_id == self.id)
                .map(|e| AttemptError {
                    attempt: e.attempt.max(0) as u32,
                    at: e.at,
                    message: e.message.clone(),
                    transient: e.transient,
                })
                .collect(),
        })
    }
}

/// The page size used when a query asks for none, and the largest one allowed.
pub(crate) fn page_limit(asked: usize) -> usize {
    match asked {
        0 => 50,
        n => n.min(1000),
    }
}

/// The document columns, JSON metadata as text (a cast both dialects read; a no-op on SQLite,
/// which stores it as text).
pub(crate) const DOCUMENT_COLUMNS: &str = "id, user_id, job_id, name, sha256, media_type, size, \
    pages, text, category, confidence, CAST(metadata AS TEXT) AS metadata, created_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct DocumentRow {
    pub id: String,
    pub user_id: String,
    pub job_id: Option<String>,
    pub name: String,
    pub sha256: String,
    pub media_type: String,
    pub size: i64,
    pub pages: i64,
    pub text: String,
    pub category: Option<String>,
    pub confidence: Option<f64>,
    pub metadata: String,
    pub created_at: i64,
}

impl DocumentRow {
    pub fn into_document(self) -> Result<docket_core::Document, StoreError> {
        Ok(docket_core::Document {
            id: self.id,
            user: self.user_id,
            job_id: self.job_id,
            name: self.name,
            sha256: self.sha256,
            media_type: self.media_type,
            size: self.size,
            pages: self.pages,
            text: self.text,
            category: self.category,
            confidence: self.confidence,
            metadata: serde_json::from_str(&self.metadata)?,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub id: String,
    pub user_id: String,
    pub label: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl From<TokenRow> for crate::TokenInfo {
    fn from(r: TokenRow) -> crate::TokenInfo {
        crate::TokenInfo {
            id: r.id,
            user: r.user_id,
            label: r.label,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// The public id of a token: derived from its hash, so it names the token without revealing it.
pub(crate) fn token_id(hash: &str) -> String {
    format!("tok_{}", hash.get(..12).unwrap_or(hash))
}

type StatsRow = (String, i64, i64, i64, i64, i64, i64, i64, i64);

pub(crate) fn stats_rows(rows: Vec<StatsRow>) -> Result<Vec<(JobState, i64, Counts)>, StoreError> {
    rows.into_iter()
        .map(
            |(state, jobs, total, pending, running, retrying, succeeded, failed, cancelled)| {
                let counts = Counts {
                    total,
                    pending,
                    running,
                    retrying,
                    succeeded,
                    failed,
                    cancelled,
                    reused: 0,
                };
                Ok((state.parse()?, jobs, counts))
            },
        )
        .collect()
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CategoryRow {
    pub id: String,
    pub name: String,
    pub algorithm: String,
    pub pattern: String,
    pub case_insensitive: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CategoryRow {
    pub fn into_category(self) -> crate::Category {
        crate::Category {
            id: self.id,
            name: self.name,
            algorithm: self.algorithm,
            pattern: self.pattern,
            case_insensitive: self.case_insensitive,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The columns an export page selects, as both backends name them (JSON columns as text).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ExportRaw {
    pub item_id: i64,
    pub name: String,
    pub state: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub document_id: Option<String>,
    pub sha256: Option<String>,
    pub media_type: Option<String>,
    pub size: Option<i64>,
    pub pages: Option<i64>,
    pub category: Option<String>,
    pub confidence: Option<f64>,
    pub metadata: Option<String>,
    pub text: Option<String>,
}

/// The export query, written once: `json` is how a backend reads a JSON column as text; it
/// binds (job id, after, with text, limit).
pub(crate) fn export_query(json: &str) -> String {
    format!(
        "SELECT i.id AS item_id, i.name, i.state, r.output{json} AS output, \
         CASE WHEN i.state = 'failed' THEN (SELECT e.message FROM item_errors AS e \
           WHERE e.item_id = i.id ORDER BY e.attempt DESC, e.id DESC LIMIT 1) END AS error, \
         d.id AS document_id, d.sha256, d.media_type, d.size, d.pages, d.category, \
         d.confidence, d.metadata{json} AS metadata, \
         CASE WHEN $3 THEN d.text END AS text \
         FROM items AS i \
         LEFT JOIN results AS r ON r.item_id = i.id \
         LEFT JOIN documents AS d ON d.item_id = i.id AND i.state = 'succeeded' \
         WHERE i.job_id = $1 AND i.id > $2 \
         AND i.state IN ('succeeded', 'failed', 'cancelled') \
         ORDER BY i.id LIMIT $4"
    )
}

impl ExportRaw {
    pub fn into_row(self) -> Result<crate::ExportRow, StoreError> {
        let output: Option<serde_json::Value> = self
            .output
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?;
        let field = |k: &str| output.as_ref().and_then(|o| o.get(k));
        let matched_by = field("matched_by")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let reused = field("reused_from").is_some_and(|v| !v.is_null())
            || field("reused").and_then(|v| v.as_bool()).unwrap_or(false);
        let document = match (self.document_id, self.sha256, self.media_type) {
            (Some(id), Some(sha256), Some(media_type)) => Some(crate::ExportDocument {
                id,
                sha256,
                media_type,
                size: self.size.unwrap_or(0),
                pages: self.pages.unwrap_or(0),
                category: self.category,
                confidence: self.confidence,
                metadata: match self.metadata.as_deref() {
                    Some(m) => serde_json::from_str(m)?,
                    None => serde_json::Value::Object(Default::default()),
                },
                text: self.text,
            }),
            _ => None,
        };
        Ok(crate::ExportRow {
            item_id: self.item_id,
            name: self.name,
            state: self.state.parse()?,
            error: self.error,
            document,
            matched_by,
            reused,
            output,
        })
    }
}
