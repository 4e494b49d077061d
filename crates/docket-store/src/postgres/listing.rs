//! Jobs listed from a source: the listing lease, listed items, and sealing.

use super::*;
use crate::algo::listing::{LeasedListing, ListingDriver};

#[async_trait]
impl ListingDriver for PgStore {
    async fn lease_listing(
        &self,
        worker: &str,
        kinds: &[JobKind],
        lease_until: Millis,
        now: Millis,
    ) -> Result<Option<LeasedListing>, StoreError> {
        // The candidate is locked with SKIP LOCKED: two listers racing never take the same job,
        // and one that finds the first candidate locked moves on to the next. A candidate that
        // another lister took (or sealed) between our snapshot and the lock is re-checked
        // against the conditions and skipped.
        Ok(sqlx::query_as(
            "UPDATE jobs SET lister_id = $1, lister_until = $2 \
             WHERE id = (SELECT id FROM jobs WHERE sealed = false AND finished_at IS NULL \
             AND (lister_until IS NULL OR lister_until < $3) AND kind = ANY($4) \
             ORDER BY lister_until NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, user_id, source::text, total",
        )
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .bind(kind_names(kinds))
        .fetch_optional(&self.pool)
        .await?)
    }
}
