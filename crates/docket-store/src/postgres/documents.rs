//! Documents, the stored outcome of processed files, and search over them.

use super::*;
use crate::algo::documents::DocumentDriver;

#[async_trait]
impl DocumentDriver for PgStore {
    /// Words are alphanumeric (`search_terms`), so nothing in them is tsquery syntax.
    fn match_query(&self, terms: &[String]) -> String {
        terms.join(" & ")
    }

    async fn lock_item(&self, tx: &mut Tx, item_id: i64) -> Result<(), StoreError> {
        // The item first, then the document: deleting a job locks its items before the
        // cascade reaches their documents (ON DELETE SET NULL), so taking them in the same
        // order cannot deadlock with it; two writes for one item queue here.
        sqlx::query("SELECT id FROM items WHERE id = $1 FOR NO KEY UPDATE")
            .bind(item_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
