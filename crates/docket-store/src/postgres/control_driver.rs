//! The statements of job control (the algorithm is [`crate::algo::control`]): the job row is
//! locked first (`FOR UPDATE`), then its items, and work is announced when the job became
//! runnable.

use super::*;
use crate::algo::control::ControlDriver;

#[async_trait]
impl ControlDriver for PgStore {
    type Tx = Tx;

    async fn begin(&self) -> Result<Tx, StoreError> {
        PgStore::begin(self).await
    }

    async fn load_book(&self, tx: &mut Tx, id: &str) -> Result<Option<JobBook>, StoreError> {
        Self::lock_book(tx, id).await
    }

    async fn cancel_unstarted(&self, tx: &mut Tx, id: &str) -> Result<(), StoreError> {
        Self::cancel_unstarted(tx, id).await
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

    async fn write_book(
        &self,
        tx: &mut Tx,
        id: &str,
        book: &JobBook,
        now: Millis,
    ) -> Result<(), StoreError> {
        Self::write_book(tx, id, book, now, None).await?;
        if book.is_runnable() {
            Self::notify_work(tx).await?;
        }
        Ok(())
    }

    async fn commit(&self, tx: Tx) -> Result<(), StoreError> {
        Ok(tx.commit().await?)
    }

    async fn job(&self, id: &str, now: Millis) -> Result<Option<Job>, StoreError> {
        Self::job_on(&self.pool, id, now).await
    }
}
