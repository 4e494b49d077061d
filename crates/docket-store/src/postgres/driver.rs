//! The statements of this backend's transaction algorithms ([`crate::algo`]): a job row is
//! locked first (`FOR UPDATE`), then its items, and work is announced with NOTIFY.

use super::*;
use crate::algo::control::ControlDriver;
use crate::algo::listing::ListingDriver;
use crate::algo::BookDriver;

#[async_trait]
impl BookDriver for PgStore {
    type Tx = Tx;

    async fn begin(&self) -> Result<Tx, StoreError> {
        PgStore::begin(self).await
    }

    async fn write_book(
        &self,
        tx: &mut Tx,
        id: &str,
        book: &JobBook,
        now: Millis,
    ) -> Result<(), StoreError> {
        Self::write_book(tx, id, book, now, None).await
    }

    async fn insert_items(
        &self,
        tx: &mut Tx,
        id: &str,
        items: &[NewItem],
    ) -> Result<(), StoreError> {
        Self::insert_items(tx, id, items).await
    }

    async fn announce_work(&self, tx: &mut Tx) -> Result<(), StoreError> {
        Self::notify_work(tx).await
    }

    async fn commit(&self, tx: Tx) -> Result<(), StoreError> {
        Ok(tx.commit().await?)
    }

    async fn rollback(&self, tx: Tx) -> Result<(), StoreError> {
        Ok(tx.rollback().await?)
    }

    async fn job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError> {
        Self::job_on(&self.pool, id, now).await
    }
}

#[async_trait]
impl ControlDriver for PgStore {
    async fn load_book(&self, tx: &mut Tx, id: &str) -> Result<Option<JobBook>, StoreError> {
        Self::lock_book(tx, id).await
    }

    async fn cancel_unstarted(&self, tx: &mut Tx, id: &str) -> Result<(), StoreError> {
        Self::cancel_unstarted(tx, id).await
    }

    async fn deadline_passed(&self, now: Millis) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM jobs WHERE finished_at IS NULL AND deadline_at IS NOT NULL \
             AND deadline_at < $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn requeue_failed(&self, tx: &mut Tx, id: &str, streak: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'pending', failure_streak = NULL, attempts = 0, \
             stage = 'queued', progress = 0 \
             WHERE job_id = $1 AND state = 'failed' AND failure_streak = $2",
        )
        .bind(id)
        .bind(streak)
        .execute(&mut **tx)
        .await?
        .rows_affected())
    }
}

#[async_trait]
impl ListingDriver for PgStore {
    async fn listing_book(
        &self,
        tx: &mut Tx,
        id: &str,
        worker: &str,
    ) -> Result<JobBook, StoreError> {
        Self::listing_book(tx, id, worker).await
    }

    async fn extend_listing(
        &self,
        tx: &mut Tx,
        id: &str,
        lease_until: Millis,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET lister_until = $1 WHERE id = $2")
            .bind(lease_until)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn release_listing(&self, tx: &mut Tx, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET lister_id = NULL, lister_until = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
