//! The statements of creating a job ([`crate::algo::creation`]). Two submits with the same
//! idempotency key may race past the lookup; the unique index decides, and the loser's insert
//! does nothing.

use super::*;
use crate::algo::creation::CreationDriver;

#[async_trait]
impl CreationDriver for PgStore {
    /// PostgreSQL text and JSON cannot hold a NUL character.
    fn refuse_unstorable(&self, new: &NewJob) -> Result<(), StoreError> {
        let source = new.source.as_ref().map(serde_json::to_value).transpose()?;
        if source.as_ref().is_some_and(holds_nul) {
            return Err(StoreError::Invalid(
                "the source contains a NUL character".into(),
            ));
        }
        Ok(())
    }

    async fn existing_by_key(
        &self,
        tx: &mut Tx,
        user: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM jobs WHERE user_id = $1 AND idempotency_key = $2")
                .bind(user)
                .bind(key)
                .fetch_optional(&mut **tx)
                .await?,
        )
    }

    async fn insert_job(
        &self,
        tx: &mut Tx,
        id: &str,
        new: &NewJob,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let o = &new.options;
        let source = new.source.as_ref().map(serde_json::to_value).transpose()?;
        // A concurrent submit with the same key waits on the unique index and then does
        // nothing here: it returns the job that won.
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, deadline_at, \
             total, pending, running, retrying, succeeded, failed, cancelled, max_workers, \
             max_retries, auto_pause_after, item_timeout_ms, options, idempotency_key, source, \
             sealed, notify_url, notify_state) \
             VALUES ($1, $2, $3, 'queued', $4, $4, $5, $6, $6, 0, 0, 0, 0, 0, $7, $8, $9, $10, \
             $11::jsonb, $12, $13::jsonb, $14, $15::text, \
             CASE WHEN $15::text IS NOT NULL THEN 'pending' END) \
             ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
             RETURNING id",
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
        .bind(source.as_ref().map(|s| s.to_string()))
        .bind(new.source.is_none())
        .bind(o.notify_url.as_deref())
        .fetch_optional(&mut **tx)
        .await?;
        Ok(inserted.is_some())
    }
}
