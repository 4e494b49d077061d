//! Item changes, for live progress.

use async_trait::async_trait;

use crate::*;

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Items of a job whose state changed after `after`, each as it is now, in change order.
    /// An item that changed twice since `after` appears once, at its latest change; items that
    /// never changed (still pending since submit) do not appear.
    async fn item_changes(
        &self,
        job_id: &str,
        after: ChangeCursor,
        limit: usize,
    ) -> Result<Vec<ItemChange>, StoreError>;
}
