//! Jobs and their control: creating, reading, pausing, resuming, cancelling, failing, deleting, deadlines and retention.

use super::*;
use crate::algo::control;

#[async_trait]
impl JobStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn create_job(&self, new: NewJob, now: Millis) -> Result<Created, StoreError> {
        crate::algo::creation::create_job(self, new, now).await
    }

    async fn get_job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError> {
        Self::job_on(&self.pool, id, now).await
    }

    async fn list_jobs(&self, q: &JobQuery, now: Millis) -> Result<Page<Job>, StoreError> {
        let limit = page_limit(q.limit);
        let rows = sqlx::query(&format!(
            "{} WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR state = $2) \
             AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR id < $4) \
             AND ($6::bigint IS NULL OR finished_at IS NULL OR updated_at > $6) \
             AND deleted_at IS NULL ORDER BY id DESC LIMIT $5",
            job_select()
        ))
        .bind(q.user.as_deref())
        .bind(q.state.map(JobState::as_str))
        .bind(q.kind.map(|k| k.as_str()))
        .bind(q.cursor.as_deref())
        .bind(limit as i64 + 1)
        .bind(q.live_since)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() > limit;
        let mut jobs = Vec::with_capacity(limit);
        for row in rows.iter().take(limit) {
            jobs.push(Self::finish_job(&self.pool, row, now).await?);
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
            "SELECT {ITEM_COLUMNS} FROM items \
             WHERE job_id = $1 AND ($2::text IS NULL OR state = $2) AND id > $3 \
             ORDER BY id LIMIT $4"
        ))
        .bind(job_id)
        .bind(q.state.map(ItemState::as_str))
        .bind(q.after.unwrap_or(0))
        .bind(limit as i64 + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() > limit;
        let rows: Vec<ItemRow> = rows.into_iter().take(limit).collect();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let errors: Vec<ErrorRow> = if ids.is_empty() {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT item_id, attempt, at, message, transient FROM item_errors \
                 WHERE item_id = ANY($1::bigint[]) ORDER BY id",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?
        };
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
            "SELECT r.item_id, i.name, r.output::text FROM results AS r \
             JOIN items AS i ON i.id = r.item_id \
             WHERE r.job_id = $1 AND r.item_id > $2 ORDER BY r.item_id LIMIT $3",
        )
        .bind(job_id)
        .bind(after)
        .bind(limit.max(1) as i64)
        .fetch_all(&self.pool)
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
            sqlx::query_scalar("SELECT id FROM jobs WHERE user_id = $1 AND idempotency_key = $2")
                .bind(user)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        match id {
            Some(id) => Self::job_on(&self.pool, &id, now).await,
            None => Ok(None),
        }
    }

    async fn fail_job(&self, job_id: &str, error: &str, now: Millis) -> Result<Job, StoreError> {
        let error = error.replace('\0', "\u{fffd}");
        control::fail(self, job_id, error, now).await
    }
}
