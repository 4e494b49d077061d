//! The statements of this backend's transaction algorithms ([`crate::algo`]): one writer,
//! `BEGIN IMMEDIATE`, items stamped with this transaction's event clock tick.

use super::*;
use crate::algo::control::ControlDriver;
use crate::algo::listing::ListingDriver;
use crate::algo::BookDriver;

#[async_trait]
impl BookDriver for SqliteStore {
    type Tx = Tx;

    async fn begin(&self) -> Result<Tx, StoreError> {
        SqliteStore::begin(self).await
    }

    async fn write_book(
        &self,
        tx: &mut Tx,
        id: &str,
        book: &JobBook,
        now: Millis,
    ) -> Result<(), StoreError> {
        Self::write_book(tx, id, book, now).await
    }

    async fn insert_items(
        &self,
        tx: &mut Tx,
        id: &str,
        items: &[NewItem],
    ) -> Result<(), StoreError> {
        Self::insert_items(tx, id, items).await
    }

    /// SQLite has no cross-process signal: engines poll.
    async fn announce_work(&self, _tx: &mut Tx) -> Result<(), StoreError> {
        Ok(())
    }

    async fn commit(&self, tx: Tx) -> Result<(), StoreError> {
        Ok(tx.commit().await?)
    }

    async fn rollback(&self, tx: Tx) -> Result<(), StoreError> {
        Ok(tx.rollback().await?)
    }

    async fn job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError> {
        Self::job_on(&self.reader, id, now).await
    }
}

#[async_trait]
impl ControlDriver for SqliteStore {
    async fn load_book(&self, tx: &mut Tx, id: &str) -> Result<Option<JobBook>, StoreError> {
        Ok(Self::load_book(tx, id).await?.map(|(_, book)| book))
    }

    async fn cancel_unstarted(&self, tx: &mut Tx, id: &str) -> Result<(), StoreError> {
        Self::cancel_unstarted(tx, id).await
    }

    async fn deadline_passed(&self, now: Millis) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM jobs WHERE finished_at IS NULL AND deadline_at IS NOT NULL \
             AND deadline_at < ?",
        )
        .bind(now)
        .fetch_all(&self.reader)
        .await?)
    }

    async fn requeue_failed(&self, tx: &mut Tx, id: &str, streak: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'pending', failure_streak = NULL, attempts = 0, \
             stage = 'queued', progress = 0 WHERE id IN (SELECT id FROM items \
             INDEXED BY items_failed_streak WHERE job_id = ? AND state = 'failed' \
             AND failure_streak = ?)",
        )
        .bind(id)
        .bind(streak)
        .execute(&mut **tx)
        .await?
        .rows_affected())
    }
}

#[async_trait]
impl ListingDriver for SqliteStore {
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
        sqlx::query("UPDATE jobs SET lister_until = ? WHERE id = ?")
            .bind(lease_until)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn release_listing(&self, tx: &mut Tx, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET lister_id = NULL, lister_until = NULL WHERE id = ?")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
