//! Exports: a job's finished items with their documents.

use super::*;
use crate::row::{export_query, ExportRaw};
use crate::ExportRow;

#[async_trait]
impl ExportStore for SqliteStore {
    async fn export_rows(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
        with_text: bool,
    ) -> Result<Vec<ExportRow>, StoreError> {
        let rows: Vec<ExportRaw> = sqlx::query_as(&export_query("", ["?1", "?2", "?3", "?4"]))
            .bind(job_id)
            .bind(after)
            .bind(with_text)
            .bind(limit.max(1) as i64)
            .fetch_all(&self.reader)
            .await?;
        rows.into_iter().map(ExportRaw::into_row).collect()
    }
}
