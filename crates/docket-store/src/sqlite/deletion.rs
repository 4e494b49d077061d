//! [`Deletions`] for SQLite.

use async_trait::async_trait;
use docket_core::{JobState, Millis};

use super::{SqliteStore, Tx};
use crate::algo::deletion::DeletionDriver;
use crate::{Deletions, StoreError};

#[async_trait]
impl Deletions for SqliteStore {
    async fn mark_deleted(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        crate::algo::deletion::mark_deleted(self, id, now).await
    }

    async fn mark_expired(&self, before: Millis, now: Millis) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE jobs SET deleted_at = ?1, deletion_retry_at = ?1, idempotency_key = NULL \
             WHERE finished_at IS NOT NULL AND finished_at < ?2 AND deleted_at IS NULL",
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
        // Called every maintenance pass: look on a reader first, so that an idle pass neither
        // takes the single writer nor ticks the event clock.
        let due: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_deleted \
             WHERE deleted_at IS NOT NULL AND deletion_retry_at <= ?)",
        )
        .bind(now)
        .fetch_one(&self.reader)
        .await?;
        if !due {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE jobs SET deletion_retry_at = ?1 WHERE id IN (SELECT id FROM jobs \
             INDEXED BY jobs_deleted WHERE deleted_at IS NOT NULL AND deletion_retry_at <= ?2 \
             ORDER BY deletion_retry_at LIMIT ?3) RETURNING id",
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
        sqlx::query("DELETE FROM jobs WHERE id = ? AND deleted_at IS NOT NULL")
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
            "UPDATE jobs SET deletion_attempts = deletion_attempts + 1, deletion_error = ?1, \
             deletion_retry_at = ?2 WHERE id = ?3 AND deleted_at IS NOT NULL",
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
        let row: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT deletion_attempts, deletion_error FROM jobs \
             WHERE id = ? AND deleted_at IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(&self.writer)
        .await?;
        Ok(row.map(|(n, e)| (n.max(0) as u32, e)))
    }
}

/// The statements of [`crate::algo::deletion`]: the one writer needs no row locks.
#[async_trait]
impl DeletionDriver for SqliteStore {
    async fn remove_job(&self, tx: &mut Tx, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM jobs WHERE id = ?")
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
        Ok(sqlx::query_scalar(
            "DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ? RETURNING id",
        )
        .bind(before)
        .fetch_all(&mut **tx)
        .await?)
    }

    async fn unmarked_state(&self, tx: &mut Tx, id: &str) -> Result<Option<JobState>, StoreError> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM jobs WHERE id = ? AND deleted_at IS NULL")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(state.map(|s| s.parse()).transpose()?)
    }

    async fn mark_deleted(&self, tx: &mut Tx, id: &str, now: Millis) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET deleted_at = ?1, deletion_retry_at = ?1, idempotency_key = NULL \
             WHERE id = ?2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
