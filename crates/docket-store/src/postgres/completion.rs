//! The completion path's statements ([`crate::algo::completion`]): job rows are locked in id
//! order, then the items; a plan is written in a handful of batch statements.

use super::*;
use crate::algo::completion::{CompletionDriver, LockedBook};
use crate::plan::{Held, Succeeded};
use crate::Completion;
use docket_core::ItemTarget;

#[async_trait]
impl CompletionDriver for PgStore {
    async fn load_books(&self, tx: &mut Tx, ids: &[String]) -> Result<Vec<LockedBook>, StoreError> {
        Self::lock_jobs(tx, ids)
            .await?
            .into_iter()
            .map(|j| {
                Ok(LockedBook {
                    book: j.job.book()?,
                    id: j.job.id,
                    max_retries: j.max_retries,
                })
            })
            .collect()
    }

    async fn held_items(&self, tx: &mut Tx, ids: &[i64], worker: &str) -> Result<Held, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, attempts FROM items WHERE id = ANY($1::bigint[]) AND state = 'running' \
             AND worker_id = $2 ORDER BY id FOR NO KEY UPDATE",
        )
        .bind(ids)
        .bind(worker)
        .fetch_all(&mut **tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, attempts)| (id, attempts.max(0) as u32))
            .collect())
    }

    async fn write_held_results(
        &self,
        tx: &mut Tx,
        worker: &str,
        done: &[Completion],
        now: Millis,
    ) -> Result<Vec<i64>, StoreError> {
        // In id order, the order in which everyone locks items (the foreign key check of each
        // result holds its item `KEY SHARE`).
        let mut succeeded: Vec<(&Completion, &serde_json::Value)> = done
            .iter()
            .filter_map(|c| match &c.target {
                ItemTarget::Succeeded { output } => Some((c, output)),
                _ => None,
            })
            .collect();
        if succeeded.is_empty() {
            return Ok(Vec::new());
        }
        succeeded.sort_by_key(|(c, _)| c.item_id);
        let ids: Vec<i64> = succeeded.iter().map(|(c, _)| c.item_id).collect();
        let jobs: Vec<&str> = succeeded.iter().map(|(c, _)| c.job_id.as_str()).collect();
        let outputs: Vec<String> = succeeded.iter().map(|(_, o)| json_text(o)).collect();
        let attempts: Vec<i64> = succeeded
            .iter()
            .map(|(c, _)| i64::from(c.attempt))
            .collect();
        Ok(sqlx::query_scalar(
            "INSERT INTO results (item_id, job_id, output, created_at) \
             SELECT u.i, u.j, u.o::jsonb, $5 \
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS u(i, j, o, a) \
             JOIN items ON items.id = u.i AND items.state = 'running' \
             AND items.worker_id = $6 AND items.attempts = u.a ORDER BY u.i \
             ON CONFLICT (item_id) DO NOTHING RETURNING item_id",
        )
        .bind(&ids)
        .bind(&jobs)
        .bind(&outputs)
        .bind(&attempts)
        .bind(now)
        .bind(worker)
        .fetch_all(&mut **tx)
        .await?)
    }

    /// Results of items that succeeded; the items must be locked by this transaction.
    async fn write_results(
        &self,
        tx: &mut Tx,
        succeeded: &[&Succeeded],
        now: Millis,
    ) -> Result<(), StoreError> {
        if succeeded.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = succeeded.iter().map(|s| s.item_id).collect();
        let jobs: Vec<&str> = succeeded.iter().map(|s| s.job_id.as_str()).collect();
        let outputs: Vec<String> = succeeded.iter().map(|s| json_text(&s.output)).collect();
        sqlx::query(
            "INSERT INTO results (item_id, job_id, output, created_at) \
             SELECT i, j, o::jsonb, $4 FROM UNNEST($1::bigint[], $2::text[], $3::text[]) \
             AS t(i, j, o) \
             ON CONFLICT (item_id) DO UPDATE SET output = excluded.output",
        )
        .bind(&ids)
        .bind(&jobs)
        .bind(&outputs)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Applies a completion plan's item updates and errors (its results are written by
    /// `write_results`). The jobs and the items of the plan must be locked by this transaction.
    async fn apply_plan(&self, tx: &mut Tx, plan: &CompletionPlan) -> Result<(), StoreError> {
        if !plan.succeeded.is_empty() {
            let ids: Vec<i64> = plan.succeeded.iter().map(|s| s.item_id).collect();
            sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'succeeded', stage = 'done', progress = 100, \
                 worker_id = NULL, lease_until = NULL, checkpoint = NULL \
                 WHERE id = ANY($1::bigint[])",
            )
            .bind(&ids)
            .execute(&mut **tx)
            .await?;
        }
        if !plan.cancelled.is_empty() {
            sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'cancelled', worker_id = NULL, lease_until = NULL \
                 WHERE id = ANY($1::bigint[])",
            )
            .bind(&plan.cancelled)
            .execute(&mut **tx)
            .await?;
        }
        if !plan.failed.is_empty() {
            let ids: Vec<i64> = plan.failed.iter().map(|f| f.item_id).collect();
            let streaks: Vec<i64> = plan.failed.iter().map(|f| f.streak).collect();
            let stages: Vec<Option<&str>> = plan
                .failed
                .iter()
                .map(|f| f.stage.map(|s| s.as_str()))
                .collect();
            sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'failed', worker_id = NULL, lease_until = NULL, \
                 failure_streak = u.streak, stage = coalesce(u.stage, items.stage) \
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::text[]) AS u(id, streak, stage) \
                 WHERE items.id = u.id",
            )
            .bind(&ids)
            .bind(&streaks)
            .bind(&stages)
            .execute(&mut **tx)
            .await?;
        }
        if !plan.retrying.is_empty() {
            let ids: Vec<i64> = plan.retrying.iter().map(|r| r.item_id).collect();
            let due: Vec<i64> = plan.retrying.iter().map(|r| r.next_attempt_at).collect();
            sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'retrying', worker_id = NULL, lease_until = NULL, \
                 next_attempt_at = u.due \
                 FROM UNNEST($1::bigint[], $2::bigint[]) AS u(id, due) WHERE items.id = u.id",
            )
            .bind(&ids)
            .bind(&due)
            .execute(&mut **tx)
            .await?;
        }
        if !plan.requeued.is_empty() {
            let ids: Vec<i64> = plan.requeued.iter().map(|r| r.item_id).collect();
            let stages: Vec<&str> = plan.requeued.iter().map(|r| r.stage.as_str()).collect();
            let progress: Vec<f64> = plan.requeued.iter().map(|r| r.progress).collect();
            let checkpoints: Vec<Option<String>> = plan
                .requeued
                .iter()
                .map(|r| r.checkpoint.as_ref().map(json_text))
                .collect();
            let refunds: Vec<i64> = plan
                .requeued
                .iter()
                .map(|r| i64::from(r.refund_attempt))
                .collect();
            sqlx::query(
                "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'pending', worker_id = NULL, lease_until = NULL, \
                 stage = u.stage, progress = u.progress, checkpoint = COALESCE(u.checkpoint::jsonb, items.checkpoint), \
                 attempts = GREATEST(items.attempts - u.refund, 0) \
                 FROM UNNEST($1::bigint[], $2::text[], $3::float8[], $4::text[], $5::bigint[]) \
                 AS u(id, stage, progress, checkpoint, refund) WHERE items.id = u.id",
            )
            .bind(&ids)
            .bind(&stages)
            .bind(&progress)
            .bind(&checkpoints)
            .bind(&refunds)
            .execute(&mut **tx)
            .await?;
        }
        if !plan.errors.is_empty() {
            let ids: Vec<i64> = plan.errors.iter().map(|(id, _)| *id).collect();
            let attempts: Vec<i64> = plan.errors.iter().map(|(_, e)| e.attempt as i64).collect();
            let at: Vec<i64> = plan.errors.iter().map(|(_, e)| e.at).collect();
            let messages: Vec<String> = plan
                .errors
                .iter()
                .map(|(_, e)| e.message.replace('\0', "\u{fffd}"))
                .collect();
            let transient: Vec<bool> = plan.errors.iter().map(|(_, e)| e.transient).collect();
            sqlx::query(
                "INSERT INTO item_errors (item_id, attempt, at, message, transient) \
                 SELECT i, a, t, m, tr FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], \
                 $4::text[], $5::bool[]) WITH ORDINALITY AS u(i, a, t, m, tr, ord) ORDER BY ord",
            )
            .bind(&ids)
            .bind(&attempts)
            .bind(&at)
            .bind(&messages)
            .bind(&transient)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}
