//! Aggregates for `/metrics`.

use super::*;

#[async_trait]
impl StatsStore for PgStore {
    async fn job_stats(&self) -> Result<Vec<(JobState, i64, docket_core::Counts)>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT state, count(*)::int8, sum(total)::int8, sum(pending)::int8, \
             sum(running)::int8, sum(retrying)::int8, sum(succeeded)::int8, sum(failed)::int8, \
             sum(cancelled)::int8 FROM jobs GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        stats_rows(rows)
    }
}
