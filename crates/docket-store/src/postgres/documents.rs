//! Documents, the stored outcome of processed files, and search over them.

use super::*;
use crate::algo::documents::DocumentDriver;

#[async_trait]
impl DocumentDriver for PgStore {
    async fn search_documents(&self, q: &SearchQuery) -> Result<SearchResults, StoreError> {
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
        let rows: Vec<SearchRow> = sqlx::query_as(&format!(
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
        Ok(SearchResults {
            total,
            hits: search_hits(rows),
        })
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
}
