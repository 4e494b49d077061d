//! Test-only hooks that write straight into the schema (the `testing` feature).

use super::*;
use docket_core::{ItemState, JobId};

#[async_trait]
impl SchemaProbe for PgStore {
    async fn probe_job_transition(&self, from: JobState, to: JobState) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let id = JobId::generate().to_string();
        let attempt = async {
            sqlx::query(
                "INSERT INTO jobs (id, user_id, kind, state, pause_reason, created_at, \
                 updated_at, finished_at, total, pending, running, retrying, succeeded, failed, \
                 cancelled, max_retries, auto_pause_after, item_timeout_ms, options) \
                 VALUES ($1, 'probe', 'noop', $2::text, \
                 CASE WHEN $2::text = 'paused' THEN 'user' END, 0, 0, \
                 CASE WHEN $2::text IN ('completed', 'failed', 'cancelled') THEN 0 END, \
                 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, '{}')",
            )
            .bind(&id)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?;
            // A refused update aborts the transaction; it is rolled back below either way.
            let update = sqlx::query(
                "UPDATE jobs SET state = $1::text, \
                 pause_reason = CASE WHEN $1::text = 'paused' THEN 'user' END, \
                 finished_at = CASE WHEN $1::text IN ('completed', 'failed', 'cancelled') \
                 THEN 1 END WHERE id = $2",
            )
            .bind(to.as_str())
            .bind(&id)
            .execute(&mut *tx)
            .await;
            match update {
                Ok(_) => Ok(true),
                Err(e) if refused_by_schema(&e) => Ok(false),
                Err(e) => Err(StoreError::from(e)),
            }
        }
        .await;
        tx.rollback().await?;
        attempt
    }

    async fn probe_item_transition(
        &self,
        from: ItemState,
        to: ItemState,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let id = JobId::generate().to_string();
        let attempt = async {
            sqlx::query(
                "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, total, \
                 pending, running, retrying, succeeded, failed, cancelled, max_retries, \
                 auto_pause_after, item_timeout_ms, options) \
                 VALUES ($1, 'probe', 'noop', 'running', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, '{}')",
            )
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            let item: i64 = sqlx::query_scalar(
                "INSERT INTO items (job_id, name, state, worker_id, lease_until, next_attempt_at) \
                 VALUES ($1, 'probe', $2::text, CASE WHEN $2::text = 'running' THEN 'w' END, \
                 CASE WHEN $2::text = 'running' THEN 1 END, \
                 CASE WHEN $2::text = 'retrying' THEN 1 END) RETURNING id",
            )
            .bind(&id)
            .bind(from.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let update = sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = $1::text, \
                 worker_id = CASE WHEN $1::text = 'running' THEN 'w' END, \
                 lease_until = CASE WHEN $1::text = 'running' THEN 1 END, \
                 next_attempt_at = CASE WHEN $1::text = 'retrying' THEN 1 END WHERE id = $2",
            )
            .bind(to.as_str())
            .bind(item)
            .execute(&mut *tx)
            .await;
            match update {
                Ok(_) => Ok(true),
                Err(e) if refused_by_schema(&e) => Ok(false),
                Err(e) => Err(StoreError::from(e)),
            }
        }
        .await;
        tx.rollback().await?;
        attempt
    }

    async fn probe_item_without_its_job(&self) -> Result<bool, StoreError> {
        crate::algo::probe::item_without_its_job(self).await
    }

    async fn probe_rows_of_job(&self, job_id: &str) -> Result<i64, StoreError> {
        crate::algo::probe::rows_of_job(self, job_id).await
    }
}

/// Whether the database refused a statement for breaking a rule of the schema: a CHECK or
/// other integrity constraint, or the transition triggers (which raise `check_violation`).
fn refused_by_schema(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("23") || c.starts_with("P0")),
        _ => false,
    }
}
