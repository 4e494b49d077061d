//! Documents, the stored outcome of processed files, and search over them.

use super::*;
use crate::algo::documents::DocumentDriver;

#[async_trait]
impl DocumentDriver for SqliteStore {
    async fn search_documents(&self, q: &SearchQuery) -> Result<SearchResults, StoreError> {
        let terms = search_terms(&q.q);
        if terms.is_empty() {
            return Ok(SearchResults {
                total: 0,
                hits: Vec::new(),
            });
        }
        // Every word must match; each is quoted, so nothing in it is FTS5 syntax.
        let matching: String = terms
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(" ");
        let filter = "documents_fts MATCH ?1 AND d.user_id = ?2 \
                      AND (?3 IS NULL OR d.category = ?3) AND (?4 IS NULL OR d.job_id = ?4)";
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM documents_fts JOIN documents AS d ON d.rowid = documents_fts.rowid \
             WHERE {filter}"
        ))
        .bind(&matching)
        .bind(&q.user)
        .bind(q.category.as_deref())
        .bind(q.job_id.as_deref())
        .fetch_one(&self.reader)
        .await?;
        // bm25 is lower-is-better; names weigh ten times the text.
        let rows: Vec<SearchRow> = sqlx::query_as(&format!(
            "SELECT d.id, d.name, -bm25(documents_fts, 10.0, 1.0), \
             snippet(documents_fts, 1, '<mark>', '</mark>', '…', 16), d.category \
             FROM documents_fts JOIN documents AS d ON d.rowid = documents_fts.rowid \
             WHERE {filter} ORDER BY bm25(documents_fts, 10.0, 1.0), d.id LIMIT ?5 OFFSET ?6"
        ))
        .bind(&matching)
        .bind(&q.user)
        .bind(q.category.as_deref())
        .bind(q.job_id.as_deref())
        .bind(page_limit(q.limit) as i64)
        .bind(q.offset as i64)
        .fetch_all(&self.reader)
        .await?;
        Ok(SearchResults {
            total,
            hits: search_hits(rows),
        })
    }

    /// One writer: nothing to lock row by row.
    async fn lock_item(&self, _tx: &mut Tx, _item_id: i64) -> Result<(), StoreError> {
        Ok(())
    }

    async fn upsert_document(
        &self,
        tx: &mut Tx,
        id: &str,
        d: &NewDocument,
        now: Millis,
    ) -> Result<String, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO documents (id, user_id, job_id, item_id, name, sha256, media_type, size, \
             pages, text, category, confidence, metadata, created_at, options_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
             ON CONFLICT (item_id) DO UPDATE SET name = excluded.name, sha256 = excluded.sha256, \
             media_type = excluded.media_type, size = excluded.size, pages = excluded.pages, \
             text = excluded.text, category = excluded.category, \
             confidence = excluded.confidence, metadata = excluded.metadata, \
             options_key = excluded.options_key \
             RETURNING id",
        )
        .bind(id)
        .bind(&d.user)
        .bind(&d.job_id)
        .bind(d.item_id)
        .bind(&d.name)
        .bind(&d.sha256)
        .bind(&d.media_type)
        .bind(d.size)
        .bind(d.pages)
        .bind(&d.text)
        .bind(d.category.as_deref())
        .bind(d.confidence)
        .bind(d.metadata.to_string())
        .bind(now)
        .bind(&d.options_key)
        .fetch_one(&mut **tx)
        .await?)
    }
}
