//! The work queue: claims, completions, heartbeats, rescue of expired leases, and the control state workers watch.

use super::*;
use crate::algo::queue::QueueDriver;

#[async_trait]
impl QueueDriver for SqliteStore {
    async fn claim_items(
        &self,
        worker: &str,
        kinds: &[JobKind],
        limit: usize,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<Claimed>, StoreError> {
        if limit == 0 || kinds.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        // jobs_runnable holds the kind next to claim_pass, so the kind filter is answered
        // from the index while it is walked in claim order.
        let jobs: Vec<ClaimJobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS}, max_workers, max_retries, item_timeout_ms, priority, claim_pass \
             FROM jobs INDEXED BY jobs_runnable \
             WHERE state IN ('queued', 'running') AND pause_requested = 0 AND held_until IS NULL \
             AND kind IN (SELECT value FROM json_each(?1)) \
             ORDER BY claim_pass LIMIT 64"
        ))
        .bind(kinds_json(kinds))
        .fetch_all(&mut *tx)
        .await?;
        let candidates: Vec<ClaimCandidate> = jobs
            .iter()
            .map(|j| {
                Ok(ClaimCandidate {
                    headroom: j.max_workers.map_or(i64::MAX, |m| m - j.job.running),
                    waiting: j.job.pending + j.job.retrying,
                    pass: j.claim_pass,
                    priority: j.priority.parse()?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let front = claim_front(&candidates);
        let shares = fair_shares(&candidates, limit, front);
        let mut claimed = Vec::new();
        for ((j, candidate), share) in jobs.iter().zip(&candidates).zip(shares) {
            if share == 0 {
                continue;
            }
            let kind = j.job.kind.parse()?;
            // Rows cross from SQLite's thread one by one, which is slow in bulk, so each step
            // answers a single JSON row instead: ids to take, then the taken items.
            let mut got_retrying = 0;
            let mut ids: Vec<i64> = Vec::new();
            if j.job.retrying > 0 {
                let due: String = sqlx::query_scalar(
                    "SELECT json_group_array(id) FROM (SELECT id FROM items INDEXED BY items_retrying \
                     WHERE job_id = ?1 AND state = 'retrying' AND next_attempt_at <= ?2 \
                     ORDER BY next_attempt_at LIMIT ?3)",
                )
                .bind(&j.job.id)
                .bind(now)
                .bind(share as i64)
                .fetch_one(&mut *tx)
                .await?;
                ids = serde_json::from_str(&due)?;
                got_retrying = ids.len();
            }
            let mut got_pending = 0;
            if ids.len() < share && j.job.pending > 0 {
                let pending: String = sqlx::query_scalar(
                    "SELECT json_group_array(id) FROM (SELECT id FROM items INDEXED BY items_pending \
                     WHERE job_id = ?1 AND state = 'pending' ORDER BY id LIMIT ?2)",
                )
                .bind(&j.job.id)
                .bind((share - ids.len()) as i64)
                .fetch_one(&mut *tx)
                .await?;
                let pending: Vec<i64> = serde_json::from_str(&pending)?;
                got_pending = pending.len();
                ids.extend(pending);
            }
            if ids.is_empty() {
                continue;
            }
            let ids_text = ids_json(ids.iter().copied());
            sqlx::query(
                "UPDATE items SET event_seq = (SELECT seq FROM event_clock), state = 'running', attempts = attempts + 1, worker_id = ?1, \
                 lease_until = ?2, next_attempt_at = NULL, started = 0 \
                 WHERE id IN (SELECT value FROM json_each(?3))",
            )
            .bind(worker)
            .bind(lease_until)
            .bind(&ids_text)
            .execute(&mut *tx)
            .await?;
            let taken: String = sqlx::query_scalar(
                "SELECT json_group_array(json_array(id, name, json(payload), attempts, stage, \
                 json(checkpoint))) FROM items WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            )
            .bind(&ids_text)
            .fetch_one(&mut *tx)
            .await?;
            let rows: Vec<ClaimedRow> = serde_json::from_str(&taken)?;
            if rows.is_empty() {
                continue;
            }
            let mut book = j.job.book()?;
            book.on_claimed(got_pending as i64, got_retrying as i64);
            let pass = candidate.pass_after(front, rows.len());
            crate::algo::write_book(self, &mut tx, &j.job.id, &book, now, Some(pass)).await?;
            let mut rows = rows;
            rows.sort_by_key(|r| r.0);
            for (id, name, payload, attempts, stage, checkpoint) in rows {
                claimed.push(Claimed {
                    item_id: id,
                    job_id: j.job.id.clone(),
                    user: j.job.user_id.clone(),
                    kind,
                    name,
                    payload: docket_core::ItemPayload::from_stored(payload.get()),
                    attempts: attempts.max(0) as u32,
                    max_retries: j.max_retries.max(0) as u32,
                    timeout_ms: j.item_timeout_ms,
                    stage: Stage::parse(&stage).unwrap_or(Stage::Queued),
                    checkpoint,
                });
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn hold_items(
        &self,
        worker: &str,
        held: &[ProgressUpdate],
        lease_until: Millis,
        _now: Millis,
    ) -> Result<Vec<i64>, StoreError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let updates: Vec<serde_json::Value> = held
            .iter()
            .map(|u| {
                json!([
                    u.item_id,
                    u.stage.as_str(),
                    u.progress.clamp(0.0, 100.0),
                    u.started
                ])
            })
            .collect();
        let mut tx = self.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE items SET lease_until = ?1, stage = u.stage, progress = u.progress, \
             started = u.started \
             FROM (SELECT value ->> '$[0]' AS id, value ->> '$[1]' AS stage, \
                          value ->> '$[2]' AS progress, value ->> '$[3]' AS started \
                   FROM json_each(?2)) AS u \
             WHERE items.id = u.id AND items.state = 'running' AND items.worker_id = ?3 \
             RETURNING items.id",
        )
        .bind(lease_until)
        .bind(serde_json::Value::Array(updates).to_string())
        .bind(worker)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn work_notifier(
        &self,
    ) -> Result<Option<std::sync::Arc<tokio::sync::Notify>>, StoreError> {
        // One process owns an SQLite file; its engine is woken in process.
        Ok(None)
    }

    /// SQLite stores any text.
    fn checkpoint_text(&self, checkpoint: &serde_json::Value) -> String {
        checkpoint.to_string()
    }
}
