//! Documents: writing one (the processed outcome of one item, upserted by item and linked
//! back from it in one transaction), reading, labelling and classifying them. Search is the
//! backend's own (FTS5, `tsvector`).

use async_trait::async_trait;
use docket_core::{Document, Millis};

use super::categories::BUMP_LABELS;
use super::sql::{On, Sql, Statements};
use crate::row::{DocumentRow, DOCUMENT_COLUMNS};
use crate::{DocumentStore, NewDocument, SearchQuery, SearchResults, StoreError};

/// The statements a backend runs for [`put_document`].
#[async_trait]
pub(crate) trait DocumentDriver: Statements {
    /// Locks the item before its document, where the backend has row locks (deleting a job
    /// reaches items before their documents).
    async fn lock_item(&self, tx: &mut Self::Tx, item_id: i64) -> Result<(), StoreError>;
    /// Inserts the document as `id`, or replaces the item's existing one; returns the id kept.
    async fn upsert_document(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        d: &NewDocument,
        now: Millis,
    ) -> Result<String, StoreError>;
    /// Full-text search, in the backend's own index.
    async fn search_documents(&self, q: &SearchQuery) -> Result<SearchResults, StoreError>;
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
    let id = driver.upsert_document(&mut tx, &fresh, &d, now).await?;
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
        self.search_documents(q).await
    }
}
