//! Removing jobs on PostgreSQL, locks first: the rest of [`crate::Deletions`] is written once.

use async_trait::async_trait;
use docket_core::Millis;

use super::{PgStore, Tx};
use crate::algo::deletion::DeletionDriver;
use crate::StoreError;

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
}
