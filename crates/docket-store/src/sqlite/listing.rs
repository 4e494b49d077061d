//! Jobs listed from a source: the listing lease, listed items, and sealing.

use super::*;
use crate::algo::listing;

#[async_trait]
impl ListingStore for SqliteStore {
    async fn claim_listing(
        &self,
        worker: &str,
        kinds: &[JobKind],
        lease_until: Millis,
        now: Millis,
    ) -> Result<Option<Listing>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let mut tx = self.begin().await?;
        let row: Option<(String, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT id, kind, user_id, source, total FROM jobs INDEXED BY jobs_unsealed \
             WHERE sealed = 0 AND finished_at IS NULL \
             AND (lister_until IS NULL OR lister_until < ?1) \
             AND kind IN (SELECT value FROM json_each(?2)) ORDER BY lister_until LIMIT 1",
        )
        .bind(now)
        .bind(kinds_json(kinds))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((job_id, kind, user, source, listed)) = row else {
            return Ok(None);
        };
        sqlx::query("UPDATE jobs SET lister_id = ?, lister_until = ? WHERE id = ?")
            .bind(worker)
            .bind(lease_until)
            .bind(&job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(Listing {
            job_id,
            kind: kind.parse()?,
            user,
            source: docket_core::JobSource::from_stored(source.as_deref()),
            listed,
        }))
    }

    async fn add_items(
        &self,
        job_id: &str,
        worker: &str,
        items: Vec<NewItem>,
        lease_until: Millis,
        now: Millis,
    ) -> Result<(), StoreError> {
        listing::add_items(self, job_id, worker, &items, lease_until, now).await
    }

    async fn seal_job(&self, job_id: &str, worker: &str, now: Millis) -> Result<Job, StoreError> {
        listing::seal(self, job_id, worker, now).await
    }
}
