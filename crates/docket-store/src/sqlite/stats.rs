//! Aggregates for `/metrics`.

use super::*;

#[async_trait]
impl StatsStore for SqliteStore {
    async fn job_stats(&self) -> Result<Vec<(JobState, i64, docket_core::Counts)>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT state, count(*), sum(total), sum(pending), sum(running), sum(retrying), \
             sum(succeeded), sum(failed), sum(cancelled) FROM jobs GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.reader)
        .await?;
        stats_rows(rows)
    }
}
