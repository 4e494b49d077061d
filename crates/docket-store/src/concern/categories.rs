//! Categories, hand labels and the trained classification models.

use async_trait::async_trait;
use docket_core::Millis;

use crate::*;

#[async_trait]
pub trait CategoryStore: Send + Sync + 'static {
    /// A user's categories, in the order their rules are tried (creation order).
    async fn list_categories(&self, user: &str) -> Result<Vec<Category>, StoreError>;

    /// Creates a category (`id == None`) or replaces one; a name already used by another of
    /// the user's categories is a `Conflict`, an unknown id `NotFound`.
    async fn put_category(
        &self,
        user: &str,
        id: Option<&str>,
        rule: CategoryRule,
        now: Millis,
    ) -> Result<Category, StoreError>;

    /// Returns whether it existed.
    async fn delete_category(&self, user: &str, id: &str) -> Result<bool, StoreError>;

    /// Users whose labels or categories changed since their model was trained, with the
    /// version to train at.
    async fn training_due(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// The hand-labelled documents of a user: (text, category), newest first.
    async fn labelled_texts(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Stores a model trained at `labels_version`, unless a newer one is stored already.
    async fn save_model(
        &self,
        user: &str,
        labels_version: i64,
        model: Option<String>,
        now: Millis,
    ) -> Result<(), StoreError>;

    async fn load_model(&self, user: &str) -> Result<Option<StoredModel>, StoreError>;
}
