//! Writing a document: the processed outcome of one item, upserted by item and linked back
//! from it in one transaction.

use async_trait::async_trait;
use docket_core::Millis;

use super::BookDriver;
use crate::{NewDocument, StoreError};

/// The statements a backend runs for [`put_document`].
#[async_trait]
pub(crate) trait DocumentDriver: BookDriver {
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
    async fn link_document(
        &self,
        tx: &mut Self::Tx,
        document_id: &str,
        item_id: i64,
    ) -> Result<(), StoreError>;
}

/// Stores an item's document (replacing an earlier one of the same item); returns its id.
pub(crate) async fn put_document<D: DocumentDriver>(
    driver: &D,
    d: NewDocument,
    now: Millis,
) -> Result<String, StoreError> {
    let mut tx = driver.begin().await?;
    driver.lock_item(&mut tx, d.item_id).await?;
    let fresh = format!("doc_{}", uuid::Uuid::now_v7().simple());
    let id = driver.upsert_document(&mut tx, &fresh, &d, now).await?;
    driver.link_document(&mut tx, &id, d.item_id).await?;
    driver.commit(tx).await?;
    Ok(id)
}
