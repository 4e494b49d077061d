//! Removing jobs on SQLite: the rest of [`crate::Deletions`] is written once.

use async_trait::async_trait;
use docket_core::Millis;

use super::{SqliteStore, Tx};
use crate::algo::deletion::DeletionDriver;
use crate::StoreError;

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
}
