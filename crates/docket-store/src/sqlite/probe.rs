//! Test-only hooks that write straight into the schema (the `testing` feature).

use super::*;
use docket_core::{ItemState, JobId};

#[async_trait]
impl SchemaProbe for SqliteStore {
    async fn probe_job_transition(&self, from: JobState, to: JobState) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let id = JobId::generate().to_string();
        sqlx::query(
            "INSERT INTO jobs (id, user_id, kind, state, pause_reason, created_at, updated_at, \
             finished_at, total, pending, running, retrying, succeeded, failed, cancelled, \
             max_retries, auto_pause_after, item_timeout_ms, options) \
             VALUES (?1, 'probe', 'noop', ?2, CASE WHEN ?2 = 'paused' THEN 'user' END, 0, 0, \
             CASE WHEN ?2 IN ('completed', 'failed', 'cancelled') THEN 0 END, \
             0, 0, 0, 0, 0, 0, 0, 0, 0, 1, '{}')",
        )
        .bind(&id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?;
        let accepted = sqlx::query(
            "UPDATE jobs SET state = ?1, pause_reason = CASE WHEN ?1 = 'paused' THEN 'user' END, \
             finished_at = CASE WHEN ?1 IN ('completed', 'failed', 'cancelled') THEN 1 END \
             WHERE id = ?2",
        )
        .bind(to.as_str())
        .bind(&id)
        .execute(&mut *tx)
        .await
        .is_ok();
        tx.rollback().await?;
        Ok(accepted)
    }

    async fn probe_item_transition(
        &self,
        from: ItemState,
        to: ItemState,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let id = JobId::generate().to_string();
        sqlx::query(
            "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, total, pending, \
             running, retrying, succeeded, failed, cancelled, max_retries, auto_pause_after, \
             item_timeout_ms, options) \
             VALUES (?1, 'probe', 'noop', 'running', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, '{}')",
        )
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        let item: i64 = sqlx::query_scalar(
            "INSERT INTO items (job_id, name, state, worker_id, lease_until, next_attempt_at) \
             VALUES (?1, 'probe', ?2, CASE WHEN ?2 = 'running' THEN 'w' END, \
             CASE WHEN ?2 = 'running' THEN 1 END, CASE WHEN ?2 = 'retrying' THEN 1 END) RETURNING id",
        )
        .bind(&id)
        .bind(from.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let accepted = sqlx::query(
            "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = ?1, worker_id = CASE WHEN ?1 = 'running' THEN 'w' END, \
             lease_until = CASE WHEN ?1 = 'running' THEN 1 END, \
             next_attempt_at = CASE WHEN ?1 = 'retrying' THEN 1 END WHERE id = ?2",
        )
        .bind(to.as_str())
        .bind(item)
        .execute(&mut *tx)
        .await
        .is_ok();
        tx.rollback().await?;
        Ok(accepted)
    }

    async fn probe_item_without_its_job(&self) -> Result<bool, StoreError> {
        crate::algo::probe::item_without_its_job(self).await
    }

    async fn probe_rows_of_job(&self, job_id: &str) -> Result<i64, StoreError> {
        crate::algo::probe::rows_of_job(self, job_id).await
    }
}
