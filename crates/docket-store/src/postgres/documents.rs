//! Documents, the stored outcome of processed files, and search over them.

use super::*;
use crate::algo::documents::{self, DocumentDriver};

#[async_trait]
impl DocumentStore for PgStore {
    async fn put_document(&self, d: NewDocument, now: Millis) -> Result<String, StoreError> {
        documents::put_document(self, d, now).await
    }

    async fn get_document(&self, id: &str) -> Result<Option<Document>, StoreError> {
        if id.contains('\0') {
            return Ok(None);
        }
        let row: Option<DocumentRow> =
            sqlx::query_as(&format!("{} WHERE id = $1", document_select()))
                .bind(id)
                .fetch_optional(&self.pool)
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
            "{} WHERE user_id = $1 AND sha256 = $2 \
             AND options_key = $3 ORDER BY created_at DESC, id DESC LIMIT 1",
            document_select()
        ))
        .bind(user)
        .bind(sha256)
        .bind(options_key)
        .fetch_optional(&self.pool)
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
            "UPDATE documents SET category = $3, confidence = CASE WHEN $3 IS NULL THEN NULL ELSE 1.0 END, \
             labelled = CASE WHEN $3 IS NULL THEN false ELSE true END \
             WHERE id = $1 AND user_id = $2 RETURNING {}",
            document_returning()
        ))
        .bind(id)
        .bind(user)
        .bind(category)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        sqlx::query("INSERT INTO classifiers (user_id) VALUES ($1) ON CONFLICT (user_id) DO UPDATE SET labels_version = classifiers.labels_version + 1")
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
            "UPDATE documents SET category = $2, confidence = $3 \
             WHERE id = $1 AND labelled = false",
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
            "SELECT id FROM documents WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(user)
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.pool)
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
        // Every word must match; words are alphanumeric, so nothing in them is tsquery syntax.
        let matching = terms.join(" & ");
        let filter = "d.search @@ q.query AND d.user_id = $2 \
                      AND ($3::text IS NULL OR d.category = $3) AND ($4::text IS NULL OR d.job_id = $4)";
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM documents AS d, to_tsquery('english', $1) AS q(query) WHERE {filter}"
        ))
        .bind(&matching)
        .bind(&q.user)
        .bind(q.category.as_deref())
        .bind(q.job_id.as_deref())
        .fetch_one(&self.pool)
        .await?;
        let rows: Vec<(String, String, f64, String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT d.id, d.name, ts_rank_cd(d.search, q.query)::float8 AS score, \
             ts_headline('english', d.text, q.query, \
                 'StartSel=<mark>, StopSel=</mark>, MaxFragments=1, MaxWords=24, MinWords=8'), \
             d.category \
             FROM documents AS d, to_tsquery('english', $1) AS q(query) WHERE {filter} \
             ORDER BY score DESC, d.id LIMIT $5 OFFSET $6"
        ))
        .bind(&matching)
        .bind(&q.user)
        .bind(q.category.as_deref())
        .bind(q.job_id.as_deref())
        .bind(page_limit(q.limit) as i64)
        .bind(q.offset as i64)
        .fetch_all(&self.pool)
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
impl DocumentDriver for PgStore {
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15) \
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
        .bind(text_without_nul(&d.name))
        .bind(text_without_nul(&d.sha256))
        .bind(text_without_nul(&d.media_type))
        .bind(d.size)
        .bind(d.pages)
        .bind(text_without_nul(&d.text))
        .bind(d.category.as_deref().map(text_without_nul))
        .bind(d.confidence)
        .bind(json_text(&d.metadata))
        .bind(now)
        .bind(text_without_nul(&d.options_key))
        .fetch_one(&mut **tx)
        .await?)
    }

    async fn link_document(
        &self,
        tx: &mut Tx,
        document_id: &str,
        item_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE items SET document_id = $1 WHERE id = $2")
            .bind(document_id)
            .bind(item_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
