//! The work queue ([`QueueStore`]) over a backend's claims, heartbeats and work signal, which
//! really differ (JSON arrays against arrays and `COPY`, one writer against row locks);
//! completions, rescues, checkpoints and control reads are written once.

use async_trait::async_trait;
use docket_core::{JobKind, Millis, Stage};

use super::completion::{self, CompletionDriver};
use super::sql::{On, Sql, Statements};
use crate::{
    Claimed, CompleteReport, Completion, JobControl, ProgressUpdate, QueueStore, StoreError,
};

/// What each backend does its own way in the work queue.
#[async_trait]
pub(crate) trait QueueDriver: CompletionDriver + Statements {
    /// [`QueueStore::claim`].
    async fn claim_items(
        &self,
        worker: &str,
        kinds: &[JobKind],
        limit: usize,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// [`QueueStore::heartbeat`].
    async fn hold_items(
        &self,
        worker: &str,
        held: &[ProgressUpdate],
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<i64>, StoreError>;
    /// [`QueueStore::work_signal`].
    async fn work_notifier(
        &self,
    ) -> Result<Option<std::sync::Arc<tokio::sync::Notify>>, StoreError>;
    /// A checkpoint as this backend stores it (PostgreSQL: U+FFFD in place of each NUL).
    fn checkpoint_text(&self, checkpoint: &serde_json::Value) -> String;
}

const SAVE_CHECKPOINT: Sql = Sql::each(
    "UPDATE items SET stage = $1, checkpoint = $2 \
     WHERE id = $3 AND state = 'running' AND worker_id = $4",
    "UPDATE items SET stage = $1, checkpoint = $2::jsonb \
     WHERE id = $3 AND state = 'running' AND worker_id = $4",
);
const JOB_CONTROLS: Sql = Sql::each(
    "SELECT id, state, pause_requested FROM jobs WHERE id IN (SELECT value FROM json_each($1))",
    "SELECT id, state, pause_requested FROM jobs WHERE id = ANY($1::text[])",
);

#[async_trait]
impl<D: QueueDriver + 'static> QueueStore for D {
    async fn claim(
        &self,
        worker: &str,
        kinds: &[JobKind],
        limit: usize,
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<Claimed>, StoreError> {
        self.claim_items(worker, kinds, limit, lease_until, now)
            .await
    }

    async fn complete(
        &self,
        worker: &str,
        done: Vec<Completion>,
        now: Millis,
    ) -> Result<CompleteReport, StoreError> {
        completion::complete(self, worker, done, now).await
    }

    async fn save_checkpoint(
        &self,
        worker: &str,
        item_id: i64,
        stage: Stage,
        checkpoint: serde_json::Value,
    ) -> Result<bool, StoreError> {
        let checkpoint = self.checkpoint_text(&checkpoint);
        let saved = self
            .execute_alone(
                SAVE_CHECKPOINT,
                &[
                    stage.as_str().into(),
                    checkpoint.as_str().into(),
                    item_id.into(),
                    worker.into(),
                ],
            )
            .await?;
        Ok(saved == 1)
    }

    async fn heartbeat(
        &self,
        worker: &str,
        held: &[ProgressUpdate],
        lease_until: Millis,
        now: Millis,
    ) -> Result<Vec<i64>, StoreError> {
        self.hold_items(worker, held, lease_until, now).await
    }

    async fn rescue_expired(&self, now: Millis) -> Result<u64, StoreError> {
        completion::rescue_expired(self, now).await
    }

    async fn job_controls(&self, ids: &[String]) -> Result<Vec<JobControl>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String, bool)> = self
            .fetch_all(On::Read, JOB_CONTROLS, &[ids.into()])
            .await?;
        rows.into_iter()
            .map(|(id, state, pause_requested)| {
                Ok(JobControl {
                    id,
                    state: state.parse()?,
                    pause_requested,
                })
            })
            .collect()
    }

    async fn work_signal(&self) -> Result<Option<std::sync::Arc<tokio::sync::Notify>>, StoreError> {
        self.work_notifier().await
    }
}
