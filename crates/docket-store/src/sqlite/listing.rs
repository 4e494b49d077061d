//! Jobs listed from a source: the listing lease, listed items, and sealing.

use super::*;
use crate::algo::listing::{LeasedListing, ListingDriver};

#[async_trait]
impl ListingDriver for SqliteStore {
    async fn lease_listing(
        &self,
        worker: &str,
        kinds: &[JobKind],
        lease_until: Millis,
        now: Millis,
    ) -> Result<Option<LeasedListing>, StoreError> {
        let mut tx = self.begin().await?;
        let row: Option<LeasedListing> = sqlx::query_as(
            "SELECT id, kind, user_id, source, total FROM jobs INDEXED BY jobs_unsealed \
             WHERE sealed = 0 AND finished_at IS NULL \
             AND (lister_until IS NULL OR lister_until < ?1) \
             AND kind IN (SELECT value FROM json_each(?2)) ORDER BY lister_until LIMIT 1",
        )
        .bind(now)
        .bind(kinds_json(kinds))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        sqlx::query("UPDATE jobs SET lister_id = ?, lister_until = ? WHERE id = ?")
            .bind(worker)
            .bind(lease_until)
            .bind(&row.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(row))
    }
}
