//! The statements of creating a job ([`crate::algo::creation`]). The idempotency lookup and
//! the insert run in one `BEGIN IMMEDIATE` transaction, so no other submit comes between them.

use super::*;
use crate::algo::creation::CreationDriver;

#[async_trait]
impl CreationDriver for SqliteStore {
    /// SQLite stores any text.
    fn refuse_unstorable(&self, _new: &NewJob) -> Result<(), StoreError> {
        Ok(())
    }

    async fn existing_by_key(
        &self,
        tx: &mut Tx,
        user: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM jobs WHERE user_id = ? AND idempotency_key = ?")
                .bind(user)
                .bind(key)
                .fetch_optional(&mut **tx)
                .await?,
        )
    }

    /// Always inserts: the lookup before it ran in this same writer transaction.
    async fn insert_job(
        &self,
        tx: &mut Tx,
        id: &str,
        new: &NewJob,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let o = &new.options;
        sqlx::query(
            "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, deadline_at, \
             total, pending, running, retrying, succeeded, failed, cancelled, max_workers, \
             max_retries, auto_pause_after, item_timeout_ms, options, idempotency_key, source, \
             sealed, notify_url, notify_state) \
             VALUES (?1, ?2, ?3, 'queued', ?4, ?4, ?5, ?6, ?6, 0, 0, 0, 0, 0, ?7, ?8, ?9, ?10, ?11, \
             ?12, ?13, ?14, ?15, CASE WHEN ?15 IS NOT NULL THEN 'pending' END)",
        )
        .bind(id)
        .bind(&new.user)
        .bind(new.kind.as_str())
        .bind(now)
        .bind(o.deadline_seconds.map(|s| now + (s as i64) * 1000))
        .bind(new.items.len() as i64)
        .bind(o.max_workers.map(i64::from))
        .bind(o.max_retries as i64)
        .bind(o.auto_pause_after as i64)
        .bind((o.item_timeout_seconds as i64).saturating_mul(1000))
        .bind(serde_json::to_string(o)?)
        .bind(new.idempotency_key.as_deref())
        .bind(new.source.as_ref().map(serde_json::to_string).transpose()?)
        .bind(new.source.is_none())
        .bind(o.notify_url.as_deref())
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }
}
