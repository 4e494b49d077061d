//! Documents, the stored outcome of processed files, and search over them.

use super::*;
use crate::algo::documents::DocumentDriver;

#[async_trait]
impl DocumentDriver for SqliteStore {
    /// Each word quoted, so nothing in it is FTS5 syntax; FTS5 ANDs them.
    fn match_query(&self, terms: &[String]) -> String {
        terms
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One writer: nothing to lock row by row.
    async fn lock_item(&self, _tx: &mut Tx, _item_id: i64) -> Result<(), StoreError> {
        Ok(())
    }
}
