//! Webhook delivery bookkeeping, written once: the dialects differ in how a due job is leased
//! (PostgreSQL skips rows another process holds) and how an attempt is appended to the JSON.

use async_trait::async_trait;
use docket_core::{Job, Millis, WebhookAttempt};

use super::jobs::job;
use super::sql::{On, Sql, Statements};
use crate::{StoreError, WebhookNext, WebhookStore};

#[async_trait]
impl<D: Statements + 'static> WebhookStore for D {
    async fn due_webhooks(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let mut tx = self.begin().await?;
        let ids: Vec<(String,)> = self
            .fetch_all(
                On::Tx(&mut tx),
                Sql::each(
                    "UPDATE jobs SET notify_next_at = $1 WHERE id IN (SELECT id FROM jobs \
                     WHERE notify_state = 'pending' AND finished_at IS NOT NULL \
                     AND COALESCE(notify_next_at, 0) <= $2 ORDER BY notify_next_at LIMIT $3) \
                     RETURNING id",
                    "UPDATE jobs SET notify_next_at = $1 WHERE id = ANY(ARRAY(SELECT id FROM jobs \
                     WHERE notify_state = 'pending' AND finished_at IS NOT NULL \
                     AND COALESCE(notify_next_at, 0) <= $2 ORDER BY notify_next_at NULLS FIRST \
                     LIMIT $3 FOR UPDATE SKIP LOCKED)) RETURNING id",
                ),
                &[lease_until.into(), now.into(), (limit as i64).into()],
            )
            .await?;
        self.commit(tx).await?;
        let mut jobs = Vec::with_capacity(ids.len());
        for (id,) in ids {
            if let Some(job) = job(self, &id, now).await? {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    async fn record_webhook(
        &self,
        job_id: &str,
        attempt: WebhookAttempt,
        next: WebhookNext,
    ) -> Result<(), StoreError> {
        let (state, next_at) = next.columns();
        let attempt = serde_json::to_string(&attempt)?;
        self.execute_alone(
            Sql::each(
                "UPDATE jobs SET notify_attempts = json_insert(notify_attempts, '$[#]', json($1)), \
                 notify_state = $2, notify_next_at = $3 WHERE id = $4 AND notify_state = 'pending'",
                "UPDATE jobs SET notify_attempts = notify_attempts || jsonb_build_array($1::jsonb), \
                 notify_state = $2, notify_next_at = $3 WHERE id = $4 AND notify_state = 'pending'",
            ),
            &[
                attempt.as_str().into(),
                state.into(),
                next_at.into(),
                job_id.into(),
            ],
        )
        .await?;
        Ok(())
    }
}
