//! Exports: a job's finished items with their documents, page by page, for the flat results
//! and the export bundles.

use async_trait::async_trait;

use crate::*;

#[async_trait]
pub trait ExportStore: Send + Sync + 'static {
    /// The finished items (succeeded, failed, cancelled) of a job in item order, after the item
    /// id `after`, at most `limit` of them. A succeeded item carries its document; its text
    /// only when `with_text` (texts may be large: keep pages small when asking for them).
    async fn export_rows(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
        with_text: bool,
    ) -> Result<Vec<ExportRow>, StoreError>;
}
