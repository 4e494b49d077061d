//! Aggregates for `/metrics`.

use async_trait::async_trait;
use docket_core::JobState;

use crate::*;

#[async_trait]
pub trait StatsStore: Send + Sync + 'static {
    /// Jobs per state with the sums of their item counters, for `/metrics` (all users).
    async fn job_stats(&self) -> Result<Vec<(JobState, i64, docket_core::Counts)>, StoreError>;
}
