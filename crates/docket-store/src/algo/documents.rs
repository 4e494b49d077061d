//! Documents: writing one (the processed outcome of one item, upserted by item and linked
//! back from it in one transaction), reading, labelling and classifying them. Search is the
//! backend's own (FTS5, `tsvector`).

use std::borrow::Cow;

use async_trait::async_trait;
use docket_core::{Document, Millis};

use super::categories::BUMP_LABELS;
use super::sql::{Arg, On, Sql, Statements};
use crate::nul::{json_text, text_without_nul};
use crate::row::{page_limit, DocumentRow, DOCUMENT_COLUMNS};
use crate::types::{search_hits, search_terms, SearchRow};
use crate::{DocumentStore, NewDocument, SearchQuery, SearchResults, StoreError};

/// The statements a backend runs for [`put_document`].
#[async_trait]
pub(crate) trait DocumentDriver: Statements {
    /// Locks the item before its document, where the backend has row locks (deleting a job
    /// reaches items before their documents).
    async fn lock_item(&self, tx: &mut Self::Tx, item_id: i64) -> Result<(), StoreError>;
    /// The backend's full-text query for these words (every one must match), written so that
    /// nothing in a word is query syntax.
    fn match_query(&self, terms: &[String]) -> String;
}

/// Counts a user's matching documents; `$1` is [`DocumentDriver::match_query`], `$3`/`$4` the
/// optional category and job.
const SEARCH_COUNT: Sql = Sql::each(
    "SELECT count(*) FROM documents_fts JOIN documents AS d ON d.rowid = documents_fts.rowid \
     WHERE documents_fts MATCH $1 AND d.user_id = $2 \
     AND ($3 IS NULL OR d.category = $3) AND ($4 IS NULL OR d.job_id = $4)",
    "SELECT count(*) FROM documents AS d, to_tsquery('english', $1) AS q(query) \
     WHERE d.search @@ q.query AND d.user_id = $2 \
     AND ($3::text IS NULL OR d.category = $3) AND ($4::text IS NULL OR d.job_id = $4)",
);

/// One page of [`SEARCH_COUNT`]'s documents, best first, with a highlighted snippet. FTS5's
/// bm25 is lower-is-better, and names weigh ten times the text.
const SEARCH_PAGE: Sql = Sql::each(
    "SELECT d.id, d.name, -bm25(documents_fts, 10.0, 1.0), \
     snippet(documents_fts, 1, '<mark>', '</mark>', '…', 16), d.category \
     FROM documents_fts JOIN documents AS d ON d.rowid = documents_fts.rowid \
     WHERE documents_fts MATCH $1 AND d.user_id = $2 \
     AND ($3 IS NULL OR d.category = $3) AND ($4 IS NULL OR d.job_id = $4) \
     ORDER BY bm25(documents_fts, 10.0, 1.0), d.id LIMIT $5 OFFSET $6",
    "SELECT d.id, d.name, ts_rank_cd(d.search, q.query)::float8 AS score, \
     ts_headline('english', d.text, q.query, \
         'StartSel=<mark>, StopSel=</mark>, MaxFragments=1, MaxWords=24, MinWords=8'), \
     d.category \
     FROM documents AS d, to_tsquery('english', $1) AS q(query) \
     WHERE d.search @@ q.query AND d.user_id = $2 \
     AND ($3::text IS NULL OR d.category = $3) AND ($4::text IS NULL OR d.job_id = $4) \
     ORDER BY score DESC, d.id LIMIT $5 OFFSET $6",
);

/// Full-text search over one user's documents, in the backend's own index (FTS5, `tsvector`).
async fn search<D: DocumentDriver>(
    driver: &D,
    q: &SearchQuery,
) -> Result<SearchResults, StoreError> {
    let terms = search_terms(&q.q);
    if terms.is_empty() {
        return Ok(SearchResults {
            total: 0,
            hits: Vec::new(),
        });
    }
    let matching = driver.match_query(&terms);
    let filter = [
        Arg::from(matching.as_str()),
        q.user.as_str().into(),
        q.category.as_deref().into(),
        q.job_id.as_deref().into(),
    ];
    let (total,): (i64,) = driver.fetch_one(On::Read, SEARCH_COUNT, &filter).await?;
    let page = [
        &filter[..],
        &[
            (page_limit(q.limit) as i64).into(),
            (q.offset as i64).into(),
        ],
    ]
    .concat();
    let rows: Vec<SearchRow> = driver.fetch_all(On::Read, SEARCH_PAGE, &page).await?;
    Ok(SearchResults {
        total,
        hits: search_hits(rows),
    })
}

/// Inserts the document as `id`, or replaces the item's existing one; answers the id kept.
const UPSERT: Sql = Sql::each(
    "INSERT INTO documents (id, user_id, job_id, item_id, name, sha256, media_type, size, \
     pages, text, category, confidence, metadata, created_at, options_key) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
     ON CONFLICT (item_id) DO UPDATE SET name = excluded.name, sha256 = excluded.sha256, \
     media_type = excluded.media_type, size = excluded.size, pages = excluded.pages, \
     text = excluded.text, category = excluded.category, \
     confidence = excluded.confidence, metadata = excluded.metadata, \
     options_key = excluded.options_key \
     RETURNING id",
    "INSERT INTO documents (id, user_id, job_id, item_id, name, sha256, media_type, size, \
     pages, text, category, confidence, metadata, created_at, options_key) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15) \
     ON CONFLICT (item_id) DO UPDATE SET name = excluded.name, sha256 = excluded.sha256, \
     media_type = excluded.media_type, size = excluded.size, pages = excluded.pages, \
     text = excluded.text, category = excluded.category, \
     confidence = excluded.confidence, metadata = excluded.metadata, \
     options_key = excluded.options_key \
     RETURNING id",
);

/// Writes the document as `id` (or over the item's existing one); the id kept. What a worker
/// reported is stored as it is, or with U+FFFD for each NUL where text cannot hold one.
async fn upsert_document<D: DocumentDriver>(
    driver: &D,
    tx: &mut D::Tx,
    id: &str,
    d: &NewDocument,
    now: Millis,
) -> Result<String, StoreError> {
    let keep_nul = driver.stores_nul();
    let text = |s| storable(keep_nul, s);
    let (name, sha256, media_type) = (text(&d.name), text(&d.sha256), text(&d.media_type));
    let (body, options_key) = (text(&d.text), text(&d.options_key));
    let category = d.category.as_deref().map(text);
    let metadata = if keep_nul {
        d.metadata.to_string()
    } else {
        json_text(&d.metadata)
    };
    let (kept,): (String,) = driver
        .fetch_one(
            On::Tx(tx),
            UPSERT,
            &[
                id.into(),
                d.user.as_str().into(),
                d.job_id.as_str().into(),
                d.item_id.into(),
                name.as_ref().into(),
                sha256.as_ref().into(),
                media_type.as_ref().into(),
                d.size.into(),
                d.pages.into(),
                body.as_ref().into(),
                category.as_deref().into(),
                d.confidence.into(),
                metadata.as_str().into(),
                now.into(),
                options_key.as_ref().into(),
            ],
        )
        .await?;
    Ok(kept)
}

/// `s` as it is, or with U+FFFD for each NUL where the backend cannot store one.
fn storable(keep_nul: bool, s: &str) -> Cow<'_, str> {
    if keep_nul {
        Cow::Borrowed(s)
    } else {
        text_without_nul(s)
    }
}

/// Stores an item's document (replacing an earlier one of the same item); returns its id.
async fn put_document<D: DocumentDriver>(
    driver: &D,
    d: NewDocument,
    now: Millis,
) -> Result<String, StoreError> {
    let mut tx = driver.begin().await?;
    driver.lock_item(&mut tx, d.item_id).await?;
    let fresh = format!("doc_{}", uuid::Uuid::now_v7().simple());
    let id = upsert_document(driver, &mut tx, &fresh, &d, now).await?;
    driver
        .execute(
            &mut tx,
            Sql::same("UPDATE items SET document_id = $1 WHERE id = $2"),
            &[(&id).into(), d.item_id.into()],
        )
        .await?;
    driver.commit(tx).await?;
    Ok(id)
}

#[async_trait]
impl<D: DocumentDriver + 'static> DocumentStore for D {
    async fn put_document(&self, d: NewDocument, now: Millis) -> Result<String, StoreError> {
        put_document(self, d, now).await
    }

    async fn get_document(&self, id: &str) -> Result<Option<Document>, StoreError> {
        // Where text cannot hold a NUL, no id holds one.
        if !self.stores_nul() && id.contains('\0') {
            return Ok(None);
        }
        let row: Option<DocumentRow> = self
            .fetch_optional(
                On::Read,
                Sql::same(&format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = $1"
                )),
                &[id.into()],
            )
            .await?;
        row.map(DocumentRow::into_document).transpose()
    }

    async fn find_processed(
        &self,
        user: &str,
        sha256: &str,
        options_key: &str,
    ) -> Result<Option<Document>, StoreError> {
        let row: Option<DocumentRow> = self
            .fetch_optional(
                On::Read,
                Sql::same(&format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE user_id = $1 AND sha256 = $2 \
                     AND options_key = $3 ORDER BY created_at DESC, id DESC LIMIT 1"
                )),
                &[user.into(), sha256.into(), options_key.into()],
            )
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
        let row: Option<DocumentRow> = self
            .fetch_optional(
                On::Tx(&mut tx),
                Sql::same(&format!(
                    "UPDATE documents SET category = $3, \
                     confidence = CASE WHEN $3 IS NULL THEN NULL ELSE 1.0 END, \
                     labelled = CASE WHEN $3 IS NULL THEN false ELSE true END \
                     WHERE id = $1 AND user_id = $2 RETURNING {DOCUMENT_COLUMNS}"
                )),
                &[id.into(), user.into(), category.into()],
            )
            .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        self.execute(&mut tx, BUMP_LABELS, &[user.into()]).await?;
        self.commit(tx).await?;
        row.into_document()
    }

    async fn classify_document(
        &self,
        id: &str,
        category: Option<&str>,
        confidence: Option<f64>,
    ) -> Result<(), StoreError> {
        self.execute_alone(
            Sql::same(
                "UPDATE documents SET category = $2, confidence = $3 \
                 WHERE id = $1 AND labelled = false",
            ),
            &[id.into(), category.into(), confidence.into()],
        )
        .await?;
        Ok(())
    }

    async fn document_ids(
        &self,
        user: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let ids: Vec<(String,)> = self
            .fetch_all(
                On::Read,
                Sql::same(
                    "SELECT id FROM documents WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                ),
                &[
                    user.into(),
                    after.unwrap_or("").into(),
                    (limit as i64).into(),
                ],
            )
            .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn search(&self, q: &SearchQuery) -> Result<SearchResults, StoreError> {
        search(self, q).await
    }
}
