//! Documents, the stored outcome of processed files, and search over them.

use async_trait::async_trait;
use docket_core::{Document, Millis};

use crate::*;

#[async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    /// Stores the document of an item, idempotently: a retried item updates the same document.
    /// Returns its id.
    async fn put_document(&self, doc: NewDocument, now: Millis) -> Result<String, StoreError>;

    async fn get_document(&self, id: &str) -> Result<Option<Document>, StoreError>;

    /// The newest document of this user with this content hash that was processed with the
    /// same options (`options_key`): its results can be reused instead of processing again.
    async fn find_processed(
        &self,
        user: &str,
        sha256: &str,
        options_key: &str,
    ) -> Result<Option<Document>, StoreError>;

    /// Sets a document's category by hand (`None` removes it): it becomes a label `auto`
    /// learns from, with confidence 1. `NotFound` for another user's document.
    async fn label_document(
        &self,
        user: &str,
        id: &str,
        category: Option<&str>,
    ) -> Result<Document, StoreError>;

    /// Sets what classification decided for a document; a hand label is never overwritten.
    async fn classify_document(
        &self,
        id: &str,
        category: Option<&str>,
        confidence: Option<f64>,
    ) -> Result<(), StoreError>;

    /// Ids of a user's documents in id order, after `after`.
    async fn document_ids(
        &self,
        user: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// Ranked full-text search with highlighted snippets over a user's documents.
    async fn search(&self, query: &SearchQuery) -> Result<SearchResults, StoreError>;
}
