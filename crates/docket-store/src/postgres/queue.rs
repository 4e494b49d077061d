//! The work queue: claims, completions, heartbeats, rescue of expired leases, and the control state workers watch.

use super::*;
use crate::algo::queue::QueueDriver;

#[async_trait]
impl QueueDriver for PgStore {
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
        // Sorting is off for this transaction: the planner must walk items_pending in id order
        // and stop after `share` rows. Its estimates cannot be trusted here (a fresh table has
        // no statistics; a draining job's are stale at once), and when they are off it would
        // rather sort every pending item of the job, on every claim.
        let mut tx = self
            .pool
            .begin_with("BEGIN; SET LOCAL enable_sort = off")
            .await?;
        // A first look without locks picks the jobs to serve, in claim order.
        let seen: Vec<CandidateRow> = sqlx::query_as(
            "SELECT id, pending, running, retrying, max_workers, priority, claim_pass FROM jobs \
             WHERE state IN ('queued', 'running') AND pause_requested = false \
             AND held_until IS NULL AND kind = ANY($2) ORDER BY claim_pass LIMIT $1",
        )
        .bind(CLAIM_CANDIDATES)
        .bind(kind_names(kinds))
        .fetch_all(&mut *tx)
        .await?;
        let first: Vec<ClaimCandidate> = seen
            .iter()
            .map(|j| {
                candidate(
                    j.max_workers,
                    j.running,
                    j.pending,
                    j.retrying,
                    &j.priority,
                    j.claim_pass,
                )
            })
            .collect::<Result<_, StoreError>>()?;
        // Every job served in this claim joins no further forward than the front runner.
        let front = claim_front(&first);
        let mut order: Vec<String> = seen
            .into_iter()
            .zip(fair_shares(&first, limit, front))
            .filter(|(_, share)| *share > 0)
            .map(|(j, _)| j.id)
            .collect();
        if order.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        // Lock them in id order, then decide again on what they are now.
        let mut sorted = order.clone();
        sorted.sort();
        let mut locked: HashMap<String, LockedJobRow> = Self::lock_jobs(&mut tx, &sorted)
            .await?
            .into_iter()
            .map(|j| (j.job.id.clone(), j))
            .collect();
        let mut jobs: Vec<(LockedJobRow, JobBook)> = Vec::with_capacity(order.len());
        for id in order.drain(..) {
            let Some(j) = locked.remove(&id) else {
                continue;
            };
            let book = j.job.book()?;
            if book.is_runnable() {
                jobs.push((j, book));
            }
        }
        let candidates: Vec<ClaimCandidate> = jobs
            .iter()
            .map(|(j, _)| {
                candidate(
                    j.max_workers,
                    j.job.running,
                    j.job.pending,
                    j.job.retrying,
                    &j.priority,
                    j.claim_pass,
                )
            })
            .collect::<Result<_, StoreError>>()?;
        let shares = fair_shares(&candidates, limit, front);
        let mut claimed = Vec::new();
        for (((j, mut book), candidate), share) in jobs.into_iter().zip(&candidates).zip(shares) {
            if share == 0 {
                continue;
            }
            let kind = j.job.kind.parse()?;
            let mut got_retrying = 0;
            let mut rows: Vec<ClaimedRow> = Vec::new();
            if j.job.retrying > 0 {
                rows = sqlx::query_as(
                    "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'running', attempts = attempts + 1, \
                     worker_id = $1, lease_until = $2, next_attempt_at = NULL, started = false \
                     WHERE id = ANY(ARRAY(SELECT id FROM items WHERE job_id = $3 \
                     AND state = 'retrying' AND next_attempt_at <= $4 \
                     ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED)) \
                     RETURNING id, name, payload::text AS payload, attempts, stage, \
                     checkpoint::text AS checkpoint",
                )
                .bind(worker)
                .bind(lease_until)
                .bind(&j.job.id)
                .bind(now)
                .bind(share as i64)
                .fetch_all(&mut *tx)
                .await?;
                got_retrying = rows.len();
            }
            let mut got_pending = 0;
            if rows.len() < share && j.job.pending > 0 {
                let pending: Vec<ClaimedRow> = sqlx::query_as(
                    "UPDATE items SET event_seq = nextval('item_event_seq'), state = 'running', attempts = attempts + 1, \
                     worker_id = $1, lease_until = $2, started = false \
                     WHERE id = ANY(ARRAY(SELECT id FROM items WHERE job_id = $3 \
                     AND state = 'pending' ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)) \
                     RETURNING id, name, payload::text AS payload, attempts, stage, \
                     checkpoint::text AS checkpoint",
                )
                .bind(worker)
                .bind(lease_until)
                .bind(&j.job.id)
                .bind((share - rows.len()) as i64)
                .fetch_all(&mut *tx)
                .await?;
                got_pending = pending.len();
                rows.extend(pending);
            }
            if rows.is_empty() {
                continue;
            }
            book.on_claimed(got_pending as i64, got_retrying as i64);
            let pass = candidate.pass_after(front, rows.len());
            crate::algo::write_book(self, &mut tx, &j.job.id, &book, now, Some(pass)).await?;
            rows.sort_by_key(|r| r.id);
            for r in rows {
                claimed.push(Claimed {
                    item_id: r.id,
                    job_id: j.job.id.clone(),
                    user: j.job.user_id.clone(),
                    kind,
                    name: r.name,
                    payload: docket_core::ItemPayload::from_stored(&r.payload),
                    attempts: r.attempts.max(0) as u32,
                    max_retries: j.max_retries.max(0) as u32,
                    timeout_ms: j.item_timeout_ms,
                    stage: Stage::parse(&r.stage).unwrap_or(Stage::Queued),
                    checkpoint: r
                        .checkpoint
                        .as_deref()
                        .map(serde_json::from_str)
                        .transpose()?,
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
        let ids: Vec<i64> = held.iter().map(|u| u.item_id).collect();
        let stages: Vec<&str> = held.iter().map(|u| u.stage.as_str()).collect();
        let progress: Vec<f64> = held.iter().map(|u| u.progress.clamp(0.0, 100.0)).collect();
        let started: Vec<bool> = held.iter().map(|u| u.started).collect();
        // Items are locked in id order first, like a completion does, so that a heartbeat and
        // a completion of the same worker cannot deadlock; `NO KEY`, as an update takes them,
        // so that a completion's results (whose foreign key holds their items `KEY SHARE`) do
        // not wait for a heartbeat, nor a heartbeat for them.
        let ids: Vec<i64> = sqlx::query_scalar(
            "WITH mine AS MATERIALIZED (SELECT id FROM items WHERE id = ANY($1::bigint[]) \
             AND state = 'running' AND worker_id = $4 ORDER BY id FOR NO KEY UPDATE) \
             UPDATE items SET lease_until = $5, stage = u.stage, progress = u.progress, \
             started = u.started \
             FROM UNNEST($1::bigint[], $2::text[], $3::float8[], $6::bool[]) \
             AS u(id, stage, progress, started) \
             WHERE items.id = u.id AND items.id IN (SELECT id FROM mine) \
             AND items.state = 'running' AND items.worker_id = $4 \
             RETURNING items.id",
        )
        .bind(&ids)
        .bind(&stages)
        .bind(&progress)
        .bind(worker)
        .bind(lease_until)
        .bind(&started)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    async fn work_notifier(&self) -> Result<Option<Arc<Notify>>, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(WORK_CHANNEL).await?;
        let signal = Arc::new(Notify::new());
        let weak = Arc::downgrade(&signal);
        tokio::spawn(async move {
            loop {
                // Wake now and then to notice that the engine is gone.
                let received = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
                let Some(signal) = weak.upgrade() else { return };
                match received {
                    Ok(Ok(_)) => signal.notify_one(),
                    // The listener reconnects on the next recv; engines poll meanwhile.
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(_) => {}
                }
            }
        });
        Ok(Some(signal))
    }

    fn checkpoint_text(&self, checkpoint: &serde_json::Value) -> String {
        json_text(checkpoint)
    }
}
