//! The statements of job control (the algorithm is [`crate::algo::control`]): one writer,
//! `BEGIN IMMEDIATE`, items stamped with this transaction's event clock tick.

use super::*;
use crate::algo::control::ControlDriver;

#[async_trait]
impl ControlDriver for SqliteStore {
    type Tx = Tx;

    async fn begin(&self) -> Result<Tx, StoreError> {
        SqliteStore::begin(self).await
    }

    async fn load_book(&self, tx: &mut Tx, id: &str) -> Result<Option<JobBook>, StoreError> {
        Ok(Self::load_book(tx, id).await?.map(|(_, book)| book))
    }

    async fn cancel_unstarted(&self, tx: &mut Tx, id: &str) -> Result<(), StoreError> {
        Self::cancel_unstarted(tx, id).await
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

    async fn write_book(
        &self,
        tx: &mut Tx,
        id: &str,
        book: &JobBook,
        now: Millis,
    ) -> Result<(), StoreError> {
        Self::write_book(tx, id, book, now).await
    }

    async fn commit(&self, tx: Tx) -> Result<(), StoreError> {
        Ok(tx.commit().await?)
    }

    async fn job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError> {
        Self::job_on(&self.reader, id, now).await
    }
}
