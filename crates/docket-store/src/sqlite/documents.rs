//! Documents, the stored outcome of processed files, and search over them.

use super::*;
use crate::algo::documents::{self, DocumentDriver};

#[async_trait]
impl DocumentStore for SqliteStore {
    async fn put_document(&self, d: NewDocument, now: Millis) -> Result<String, StoreError> {
        documents::put_document(self, d, now).await
    }

    async fn get_document(&self, id: &str) -> Result<Option<Document>, StoreError> {
        let row: Option<DocumentRow> = sqlx::query_as(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.map(DocumentRow::into_document).transpose()
    }

    async fn find_processed(
        &self,
        user: &str,
        sha256: &str,
        options_key: &str,
    ) -> Result<Option<Document>, StoreError> {
        let row: Option<DocumentRow> = sqlx::query_as(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE user_id = ?1 AND sha256 = ?2 \
             AND options_key = ?3 ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(user)
        .bind(sha256)
        .bind(options_key)
        .fetch_optional(&self.reader)
        .await?;
        row.map(DocumentRow::into_document).transpose()
    }

    async fn label_document(
        &self,
        user: &str,
        id: &str,
        category: Option<&str>,
    ) -> Result<Document, StoreError> {
        let mut tx = self.begin().await?;
        let row: Option<DocumentRow> = sqlx::query_as(&format!(
            "UPDATE documents SET category = ?3, confidence = CASE WHEN ?3 IS NULL THEN NULL ELSE 1.0 END, \
             labelled = CASE WHEN ?3 IS NULL THEN 0 ELSE 1 END \
             WHERE id = ?1 AND user_id = ?2 RETURNING {DOCUMENT_COLUMNS}"
        ))
        .bind(id)
        .bind(user)
        .bind(category)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        sqlx::query("INSERT INTO classifiers (user_id) VALUES (?1) ON CONFLICT (user_id) DO UPDATE SET labels_version = classifiers.labels_version + 1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        row.into_document()
    }

    async fn classify_document(
        &self,
        id: &str,
        category: Option<&str>,
        confidence: Option<f64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE documents SET category = ?2, confidence = ?3 \
             WHERE id = ?1 AND labelled = 0",
        )
        .bind(id)
        .bind(category)
        .bind(confidence)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn document_ids(
        &self,
        user: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM documents WHERE user_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )
        .bind(user)
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.reader)
        .await?)
    }

    async fn search(&self, q: &SearchQuery) -> Result<SearchResults, StoreError> {
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
        let rows: Vec<(String, String, f64, String, Option<String>)> = sqlx::query_as(&format!(
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
        let hits = rows
            .into_iter()
            .map(|(document_id, name, score, snippet, category)| SearchHit {
                document_id,
                name,
                score: (score * 1000.0).round() / 1000.0,
                snippet,
                category,
            })
            .collect();
        Ok(SearchResults { total, hits })
    }
}

#[async_trait]
impl DocumentDriver for SqliteStore {
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

    async fn link_document(
        &self,
        tx: &mut Tx,
        document_id: &str,
        item_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE items SET document_id = ? WHERE id = ?")
            .bind(document_id)
            .bind(item_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
