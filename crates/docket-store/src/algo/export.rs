//! Exports ([`ExportStore`]): one query in both dialects but for how a JSON column is read as
//! text ([`export_query`]).

use async_trait::async_trait;

use super::sql::{On, Sql, Statements};
use crate::row::{export_query, ExportRaw};
use crate::{ExportRow, ExportStore, StoreError};

#[async_trait]
impl<D: Statements + 'static> ExportStore for D {
    async fn export_rows(
        &self,
        job_id: &str,
        after: i64,
        limit: usize,
        with_text: bool,
    ) -> Result<Vec<ExportRow>, StoreError> {
        // No job id holds a NUL where text cannot.
        if !self.stores_nul() && job_id.contains('\0') {
            return Ok(Vec::new());
        }
        let rows: Vec<ExportRaw> = self
            .fetch_all(
                On::Read,
                Sql::each(&export_query(""), &export_query("::text")),
                &[
                    job_id.into(),
                    after.into(),
                    with_text.into(),
                    (limit.max(1) as i64).into(),
                ],
            )
            .await?;
        rows.into_iter().map(ExportRaw::into_row).collect()
    }
}
