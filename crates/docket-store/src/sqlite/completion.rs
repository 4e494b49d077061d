//! The completion path's statements ([`crate::algo::completion`]). The one writer's
//! `BEGIN IMMEDIATE` already serialises every transaction, so nothing is locked row by row.

use super::*;
use crate::algo::completion::{CompletionDriver, LockedBook};
use crate::plan::{CompletionPlan, Held, Succeeded};
use crate::Completion;

/// A job row with what a rescue needs to decide retry or failure.
#[derive(sqlx::FromRow)]
struct BookRow {
    #[sqlx(flatten)]
    job: JobRow,
    max_retries: i64,
}

#[async_trait]
impl CompletionDriver for SqliteStore {
    async fn load_books(&self, tx: &mut Tx, ids: &[String]) -> Result<Vec<LockedBook>, StoreError> {
        let mut books = Vec::with_capacity(ids.len());
        for id in ids {
            let row: Option<BookRow> = sqlx::query_as(&format!(
                "SELECT {JOB_COLUMNS}, max_retries FROM jobs WHERE id = ?"
            ))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(r) = row {
                books.push(LockedBook {
                    book: r.job.book()?,
                    id: r.job.id,
                    max_retries: r.max_retries,
                });
            }
        }
        Ok(books)
    }

    async fn held_items(&self, tx: &mut Tx, ids: &[i64], worker: &str) -> Result<Held, StoreError> {
        let held: String = sqlx::query_scalar(
            "SELECT json_group_array(json_array(id, attempts)) FROM items \
             WHERE id IN (SELECT value FROM json_each(?1)) \
             AND state = 'running' AND worker_id = ?2",
        )
        .bind(ids_json(ids.iter().copied()))
        .bind(worker)
        .fetch_one(&mut **tx)
        .await?;
        Ok(serde_json::from_str::<Vec<(i64, i64)>>(&held)?
            .into_iter()
            .map(|(id, attempts)| (id, attempts.max(0) as u32))
            .collect())
    }

    /// SQLite's one writer serialises completions and claims anyway: nothing is gained by
    /// writing results before the books, so they are all written with the plan.
    async fn write_held_results(
        &self,
        _tx: &mut Tx,
        _worker: &str,
        _done: &[Completion],
        _now: Millis,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(Vec::new())
    }

    async fn write_results(
        &self,
        tx: &mut Tx,
        succeeded: &[&Succeeded],
        now: Millis,
    ) -> Result<(), StoreError> {
        if succeeded.is_empty() {
            return Ok(());
        }
        let rows: Vec<serde_json::Value> = succeeded
            .iter()
            .map(|s| json!([s.item_id, s.job_id, s.output]))
            .collect();
        sqlx::query(
            "INSERT INTO results (item_id, job_id, output, created_at) \
             SELECT value ->> '$[0]', value ->> '$[1]', value -> '$[2]', ?1 \
             FROM json_each(?2) WHERE true \
             ON CONFLICT (item_id) DO UPDATE SET output = excluded.output",
        )
        .bind(now)
        .bind(serde_json::Value::Array(rows).to_string())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// One statement per batch where SQLite can join a bound JSON array; failed, retrying and
    /// requeued items carry a value of their own each and are updated one by one.
    async fn apply_plan(&self, tx: &mut Tx, plan: &CompletionPlan) -> Result<(), StoreError> {
        if !plan.succeeded.is_empty() {
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'succeeded', stage = 'done', progress = 100, \
                 worker_id = NULL, lease_until = NULL, checkpoint = NULL \
                 WHERE id IN (SELECT value FROM json_each(?))",
            )
            .bind(ids_json(plan.succeeded.iter().map(|s| s.item_id)))
            .execute(&mut **tx)
            .await?;
        }
        if !plan.cancelled.is_empty() {
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'cancelled', worker_id = NULL, lease_until = NULL \
                 WHERE id IN (SELECT value FROM json_each(?))",
            )
            .bind(ids_json(plan.cancelled.iter().copied()))
            .execute(&mut **tx)
            .await?;
        }
        for f in &plan.failed {
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'failed', worker_id = NULL, lease_until = NULL, \
                 failure_streak = ?, stage = coalesce(?, stage) WHERE id = ?",
            )
            .bind(f.streak)
            .bind(f.stage.map(|s| s.as_str()))
            .bind(f.item_id)
            .execute(&mut **tx)
            .await?;
        }
        for r in &plan.retrying {
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'retrying', worker_id = NULL, lease_until = NULL, \
                 next_attempt_at = ? WHERE id = ?",
            )
            .bind(r.next_attempt_at)
            .bind(r.item_id)
            .execute(&mut **tx)
            .await?;
        }
        for r in &plan.requeued {
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'pending', worker_id = NULL, lease_until = NULL, \
                 stage = ?, progress = ?, checkpoint = coalesce(?, checkpoint), attempts = max(attempts - ?, 0) \
                 WHERE id = ?",
            )
            .bind(r.stage.as_str())
            .bind(r.progress)
            .bind(r.checkpoint.as_ref().map(|c| c.to_string()))
            .bind(i64::from(r.refund_attempt))
            .bind(r.item_id)
            .execute(&mut **tx)
            .await?;
        }
        for (item_id, e) in &plan.errors {
            sqlx::query(
                "INSERT INTO item_errors (item_id, attempt, at, message, transient) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(item_id)
            .bind(e.attempt as i64)
            .bind(e.at)
            .bind(&e.message)
            .bind(e.transient)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}
