//! [`Deletions`] for PostgreSQL.

use async_trait::async_trait;
use docket_core::{JobState, Millis};

use super::{PgStore, Tx};
use crate::algo::deletion::DeletionDriver;
use crate::{Deletions, StoreError};

#[async_trait]
impl Deletions for PgStore {
    async fn mark_deleted(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        crate::algo::deletion::mark_deleted(self, id, now).await
    }

    async fn mark_expired(&self, before: Millis, now: Millis) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE jobs SET deleted_at = $1, deletion_retry_at = $1, idempotency_key = NULL \
             WHERE finished_at IS NOT NULL AND finished_at < $2 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(before)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn take_deletions(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE jobs SET deletion_retry_at = $1 WHERE id IN (SELECT id FROM jobs \
             WHERE deleted_at IS NOT NULL AND deletion_retry_at <= $2 \
             ORDER BY deletion_retry_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id",
        )
        .bind(lease_until)
        .bind(now)
        .bind(limit.max(1) as i64)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn remove_deleted(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM jobs WHERE id = $1 AND deleted_at IS NOT NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn deletion_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE jobs SET deletion_attempts = deletion_attempts + 1, deletion_error = $1, \
             deletion_retry_at = $2 WHERE id = $3 AND deleted_at IS NOT NULL",
        )
        .bind(error)
        .bind(retry_at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn deletion_state(&self, id: &str) -> Result<Option<(u32, Option<String>)>, StoreError> {
        let row: Option<(i32, Option<String>)> = sqlx::query_as(
            "SELECT deletion_attempts, deletion_error FROM jobs \
             WHERE id = $1 AND deleted_at IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(n, e)| (n.max(0) as u32, e)))
    }
}

/// The statements of [`crate::algo::deletion`]: job rows in id order, then running items,
/// are locked before the cascade (see the module doc of `postgres/mod.rs`).
#[async_trait]
impl DeletionDriver for PgStore {
    async fn remove_job(&self, tx: &mut Tx, id: &str) -> Result<(), StoreError> {
        Self::lock_running_items(tx, &[id.to_string()]).await?;
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn remove_finished(
        &self,
        tx: &mut Tx,
        before: Millis,
    ) -> Result<Vec<String>, StoreError> {
        // Lock in id order like everyone else before the cascade takes the items.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1 \
             ORDER BY id FOR UPDATE",
        )
        .bind(before)
        .fetch_all(&mut **tx)
        .await?;
        if ids.is_empty() {
            return Ok(ids);
        }
        Self::lock_running_items(tx, &ids).await?;
        sqlx::query("DELETE FROM jobs WHERE id = ANY($1::text[])")
            .bind(&ids)
            .execute(&mut **tx)
            .await?;
        Ok(ids)
    }

    async fn unmarked_state(&self, tx: &mut Tx, id: &str) -> Result<Option<JobState>, StoreError> {
        let state: Option<String> = sqlx::query_scalar(
            "SELECT state FROM jobs WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(state.map(|s| s.parse()).transpose()?)
    }

    async fn mark_deleted(&self, tx: &mut Tx, id: &str, now: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET deleted_at = $1, deletion_retry_at = $1, idempotency_key = NULL \
             WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
