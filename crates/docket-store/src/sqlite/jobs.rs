//! Jobs and their control: creating, reading, pausing, resuming, cancelling, failing, deleting, deadlines and retention.

use super::*;
use crate::algo::control;

#[async_trait]
impl JobStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn create_job(&self, new: NewJob, now: Millis) -> Result<Created, StoreError> {
        crate::algo::creation::create_job(self, new, now).await
    }

    async fn get_job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError> {
        Self::job_on(&self.reader, id, now).await
    }

    async fn list_jobs(&self, q: &JobQuery, now: Millis) -> Result<Page<Job>, StoreError> {
        let limit = page_limit(q.limit);
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS}, {JOB_DETAIL_COLUMNS} FROM jobs \
             WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR state = ?2) \
             AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR id < ?4) \
             AND (?6 IS NULL OR finished_at IS NULL OR updated_at > ?6) AND deleted_at IS NULL \
             ORDER BY id DESC LIMIT ?5"
        ))
        .bind(q.user.as_deref())
        .bind(q.state.map(JobState::as_str))
        .bind(q.kind.map(|k| k.as_str()))
        .bind(q.cursor.as_deref())
        .bind(limit as i64 + 1)
        .bind(q.live_since)
        .fetch_all(&self.reader)
        .await?;
        let more = rows.len() > limit;
        let mut jobs = Vec::with_capacity(limit);
        for row in rows.iter().take(limit) {
            jobs.push(Self::finish_job(&self.reader, row, now).await?);
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
        let rows: Vec<ItemRow> = sqlx::query_as(&format!(
            "SELECT {ITEM_COLUMNS} FROM items INDEXED BY items_by_job \
             WHERE job_id = ?1 AND (?2 IS NULL OR state = ?2) AND id > ?3 ORDER BY id LIMIT ?4"
        ))
        .bind(job_id)
        .bind(q.state.map(ItemState::as_str))
        .bind(q.after.unwrap_or(0))
        .bind(limit as i64 + 1)
        .fetch_all(&self.reader)
        .await?;
        let more = rows.len() > limit;
        let rows: Vec<ItemRow> = rows.into_iter().take(limit).collect();
        let errors: Vec<ErrorRow> = sqlx::query_as(
            "SELECT item_id, attempt, at, message, transient FROM item_errors \
             WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        )
        .bind(ids_json(rows.iter().map(|r| r.id)))
        .fetch_all(&self.reader)
        .await?;
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
        crate::algo::deletion::delete_job(self, id).await
    }

    async fn expire_deadlines(&self, now: Millis) -> Result<u64, StoreError> {
        control::expire_deadlines(self, now).await
    }

    async fn purge_finished(&self, before: Millis) -> Result<Vec<String>, StoreError> {
        crate::algo::deletion::purge_finished(self, before).await
    }

    async fn results(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ResultRow>, StoreError> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT r.item_id, i.name, r.output FROM results AS r JOIN items AS i ON i.id = r.item_id \
             WHERE r.job_id = ? AND r.item_id > ? ORDER BY r.item_id LIMIT ?",
        )
        .bind(job_id)
        .bind(after)
        .bind(limit.max(1) as i64)
        .fetch_all(&self.reader)
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
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM jobs WHERE user_id = ? AND idempotency_key = ?")
                .bind(user)
                .bind(key)
                .fetch_optional(&self.reader)
                .await?;
        match id {
            Some(id) => Self::job_on(&self.reader, &id, now).await,
            None => Ok(None),
        }
    }

    async fn fail_job(&self, job_id: &str, error: &str, now: Millis) -> Result<Job, StoreError> {
        let error = error.to_string();
        control::fail(self, job_id, error, now).await
    }
}
