//! Webhook delivery bookkeeping.

use super::*;

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn due_webhooks(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let mut tx = self.begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE jobs SET notify_next_at = ?1 WHERE id IN (SELECT id FROM jobs \
             WHERE notify_state = 'pending' AND finished_at IS NOT NULL \
             AND COALESCE(notify_next_at, 0) <= ?2 ORDER BY notify_next_at LIMIT ?3) \
             RETURNING id",
        )
        .bind(lease_until)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut jobs = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(job) = crate::algo::jobs::job(self, &id, now).await? {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    async fn record_webhook(
        &self,
        job_id: &str,
        attempt: docket_core::WebhookAttempt,
        next: WebhookNext,
    ) -> Result<(), StoreError> {
        let (state, next_at) = next.columns();
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE jobs SET notify_attempts = json_insert(notify_attempts, '$[#]', json(?1)), \
             notify_state = ?2, notify_next_at = ?3 WHERE id = ?4 AND notify_state = 'pending'",
        )
        .bind(serde_json::to_string(&attempt)?)
        .bind(state)
        .bind(next_at)
        .bind(job_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
