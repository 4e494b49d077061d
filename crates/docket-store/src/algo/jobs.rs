//! Reading jobs and their items, and the job concern as a whole: [`JobStore`] written once
//! over the drivers of creation and deletion and the shared statements.

use async_trait::async_trait;
use docket_core::{Item, ItemState, Job, JobPatch, JobState, Millis, PauseReason};

use super::control;
use super::creation::{self, CreationDriver};
use super::deletion::{self, DeletionDriver};
use super::sql::{On, Sql, Statements};
use crate::row::{
    page_limit, Current, ErrorRow, FullJobRow, ItemRow, CURRENT_ITEMS, ITEM_COLUMNS, JOB_COLUMNS,
    JOB_DETAIL_COLUMNS,
};
use crate::{Created, ItemQuery, JobQuery, JobStore, NewJob, Page, ResultRow, StoreError};

/// A backend's jobs: what creating and deleting them needs, and its name.
pub(crate) trait JobDriver: CreationDriver + DeletionDriver {
    /// `sqlite`, `postgres`.
    const BACKEND: &'static str;
}

/// The recorded errors of these items, oldest first.
pub(crate) async fn errors_of<D: Statements>(
    driver: &D,
    ids: &[i64],
) -> Result<Vec<ErrorRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    driver
        .fetch_all(
            On::Read,
            Sql::each(
                "SELECT item_id, attempt, at, message, transient FROM item_errors \
                 WHERE item_id IN (SELECT value FROM json_each($1)) ORDER BY id",
                "SELECT item_id, attempt, at, message, transient FROM item_errors \
                 WHERE item_id = ANY($1::bigint[]) ORDER BY id",
            ),
            &[ids.into()],
        )
        .await
}

/// A job as it is now (not one marked deleted).
pub(crate) async fn job<D: Statements>(
    driver: &D,
    id: &str,
    now: Millis,
) -> Result<Option<Job>, StoreError> {
    let row: Option<FullJobRow> = driver
        .fetch_optional(
            On::Read,
            Sql::same(&format!(
                "SELECT {JOB_COLUMNS}, {JOB_DETAIL_COLUMNS} FROM jobs \
                 WHERE id = $1 AND deleted_at IS NULL"
            )),
            &[id.into()],
        )
        .await?;
    match row {
        Some(row) => Ok(Some(finish(driver, row, now).await?)),
        None => Ok(None),
    }
}

/// At most this many claimed items are read to estimate a job's in-flight progress.
const IN_FLIGHT_SAMPLE: i64 = 64;

/// A job from its row, with the items running now.
async fn finish<D: Statements>(
    driver: &D,
    row: FullJobRow,
    now: Millis,
) -> Result<Job, StoreError> {
    // Picked and summed in the database, in one row, and bounded: a busy job has thousands
    // of items claimed (every process prefetches), and reading them all out made each status
    // read cost as much as the job had claims. The in-flight progress is estimated from at
    // most IN_FLIGHT_SAMPLE of them (exact below that; the claimed items of a job that size
    // are a sliver of its total, so the job's progress moves by a fraction of a per cent).
    let current = if row.job.running > 0 {
        let (sampled, sample, names): (f64, i64, String) = driver
            .fetch_one(
                On::Read,
                Sql::each(
                    "SELECT total(progress), count(*), \
                     (SELECT json_group_array(name) FROM \
                      (SELECT name FROM items INDEXED BY items_started \
                       WHERE job_id = $1 AND state = 'running' AND started = 1 \
                       ORDER BY id LIMIT $2)) \
                     FROM (SELECT progress FROM items INDEXED BY items_running \
                           WHERE job_id = $1 AND state = 'running' LIMIT $3)",
                    "SELECT coalesce(sum(progress), 0)::float8, count(*), \
                     coalesce((SELECT json_agg(name ORDER BY id) FROM \
                      (SELECT id, name FROM items \
                       WHERE job_id = $1 AND state = 'running' AND started \
                       ORDER BY id LIMIT $2) s), '[]')::text \
                     FROM (SELECT progress FROM items \
                           WHERE job_id = $1 AND state = 'running' LIMIT $3) p",
                ),
                &[
                    (&row.job.id).into(),
                    (CURRENT_ITEMS as i64).into(),
                    IN_FLIGHT_SAMPLE.into(),
                ],
            )
            .await?;
        let in_flight = if sample > 0 && row.job.running > sample {
            sampled / sample as f64 * row.job.running as f64
        } else {
            sampled
        };
        Current {
            in_flight,
            names: serde_json::from_str(&names)?,
        }
    } else {
        Current::default()
    };
    row.job.into_job(row.detail, current, now)
}

#[async_trait]
impl<D: JobDriver + 'static> JobStore for D {
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn create_job(&self, new: NewJob, now: Millis) -> Result<Created, StoreError> {
        creation::create_job(self, new, now).await
    }

    async fn get_job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError> {
        job(self, id, now).await
    }

    async fn list_jobs(&self, q: &JobQuery, now: Millis) -> Result<Page<Job>, StoreError> {
        let limit = page_limit(q.limit);
        let rows: Vec<FullJobRow> = self
            .fetch_all(
                On::Read,
                Sql::each(
                    &format!(
                        "SELECT {JOB_COLUMNS}, {JOB_DETAIL_COLUMNS} FROM jobs \
                         WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR state = $2) \
                         AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR id < $4) \
                         AND ($6 IS NULL OR finished_at IS NULL OR updated_at > $6) \
                         AND deleted_at IS NULL ORDER BY id DESC LIMIT $5"
                    ),
                    &format!(
                        "SELECT {JOB_COLUMNS}, {JOB_DETAIL_COLUMNS} FROM jobs \
                         WHERE ($1::text IS NULL OR user_id = $1) \
                         AND ($2::text IS NULL OR state = $2) \
                         AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR id < $4) \
                         AND ($6::bigint IS NULL OR finished_at IS NULL OR updated_at > $6) \
                         AND deleted_at IS NULL ORDER BY id DESC LIMIT $5"
                    ),
                ),
                &[
                    q.user.as_deref().into(),
                    q.state.map(JobState::as_str).into(),
                    q.kind.map(|k| k.as_str()).into(),
                    q.cursor.as_deref().into(),
                    (limit as i64 + 1).into(),
                    q.live_since.into(),
                ],
            )
            .await?;
        let more = rows.len() > limit;
        let mut jobs = Vec::with_capacity(limit);
        for row in rows.into_iter().take(limit) {
            jobs.push(finish(self, row, now).await?);
        }
        let next_cursor = if more {
            jobs.last().map(|j| j.id.clone())
        } else {
            None
        };
        Ok(Page {
            items: jobs,
            next_cursor,
        })
    }

    async fn list_items(&self, job_id: &str, q: &ItemQuery) -> Result<Page<Item>, StoreError> {
        let limit = page_limit(q.limit);
        let rows: Vec<ItemRow> = self
            .fetch_all(
                On::Read,
                Sql::each(
                    &format!(
                        "SELECT {ITEM_COLUMNS} FROM items INDEXED BY items_by_job \
                         WHERE job_id = $1 AND ($2 IS NULL OR state = $2) AND id > $3 \
                         ORDER BY id LIMIT $4"
                    ),
                    &format!(
                        "SELECT {ITEM_COLUMNS} FROM items \
                         WHERE job_id = $1 AND ($2::text IS NULL OR state = $2) AND id > $3 \
                         ORDER BY id LIMIT $4"
                    ),
                ),
                &[
                    job_id.into(),
                    q.state.map(ItemState::as_str).into(),
                    q.after.unwrap_or(0).into(),
                    (limit as i64 + 1).into(),
                ],
            )
            .await?;
        let more = rows.len() > limit;
        let rows: Vec<ItemRow> = rows.into_iter().take(limit).collect();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let errors = errors_of(self, &ids).await?;
        let next_cursor = if more {
            rows.last().map(|r| r.id.to_string())
        } else {
            None
        };
        let items = rows
            .into_iter()
            .map(|r| r.into_item(&errors))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    async fn pause_job(
        &self,
        id: &str,
        reason: PauseReason,
        now: Millis,
    ) -> Result<Job, StoreError> {
        control::pause(self, id, reason, now).await
    }

    async fn resume_job(&self, id: &str, now: Millis) -> Result<Job, StoreError> {
        control::resume(self, id, now).await
    }

    async fn cancel_job(&self, id: &str, now: Millis) -> Result<Job, StoreError> {
        control::cancel(self, id, now).await
    }

    async fn delete_job(&self, id: &str) -> Result<(), StoreError> {
        deletion::delete_job(self, id).await
    }

    async fn expire_deadlines(&self, now: Millis) -> Result<u64, StoreError> {
        control::expire_deadlines(self, now).await
    }

    async fn change_job(&self, id: &str, patch: &JobPatch, now: Millis) -> Result<Job, StoreError> {
        super::changes::patch(self, id, patch, now).await
    }

    async fn release_held(&self, now: Millis) -> Result<u64, StoreError> {
        super::changes::release_held(self, now).await
    }

    async fn purge_finished(&self, before: Millis) -> Result<Vec<String>, StoreError> {
        deletion::purge_finished(self, before).await
    }

    async fn results(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ResultRow>, StoreError> {
        let rows: Vec<(i64, String, String)> = self
            .fetch_all(
                On::Read,
                Sql::same(
                    "SELECT r.item_id, i.name, CAST(r.output AS TEXT) FROM results AS r \
                     JOIN items AS i ON i.id = r.item_id \
                     WHERE r.job_id = $1 AND r.item_id > $2 ORDER BY r.item_id LIMIT $3",
                ),
                &[job_id.into(), after.into(), (limit.max(1) as i64).into()],
            )
            .await?;
        rows.into_iter()
            .map(|(item_id, name, output)| {
                Ok(ResultRow {
                    item_id,
                    name,
                    output: serde_json::from_str(&output)?,
                })
            })
            .collect()
    }

    async fn job_by_idempotency_key(
        &self,
        user: &str,
        key: &str,
        now: Millis,
    ) -> Result<Option<Job>, StoreError> {
        let id: Option<(String,)> = self
            .fetch_optional(
                On::Read,
                Sql::same("SELECT id FROM jobs WHERE user_id = $1 AND idempotency_key = $2"),
                &[user.into(), key.into()],
            )
            .await?;
        match id {
            Some((id,)) => job(self, &id, now).await,
            None => Ok(None),
        }
    }

    async fn fail_job(&self, job_id: &str, error: &str, now: Millis) -> Result<Job, StoreError> {
        let error = if self.stores_nul() {
            error.to_string()
        } else {
            error.replace('\0', "\u{fffd}")
        };
        control::fail(self, job_id, error, now).await
    }

    async fn set_job_result(
        &self,
        job_id: &str,
        result: serde_json::Value,
    ) -> Result<bool, StoreError> {
        let mut text = result.to_string();
        if !self.stores_nul() {
            // JSON text never holds a raw NUL, but `\u0000` is refused by jsonb.
            text = text.replace("\\u0000", "\\ufffd");
        }
        let changed = self
            .execute_alone(
                Sql::each(
                    "UPDATE jobs SET result = $2 WHERE id = $1 \
                     AND state NOT IN ('completed', 'failed', 'cancelled')",
                    "UPDATE jobs SET result = $2::jsonb WHERE id = $1 \
                     AND state NOT IN ('completed', 'failed', 'cancelled')",
                ),
                &[job_id.into(), (&text).into()],
            )
            .await?;
        Ok(changed == 1)
    }
}
