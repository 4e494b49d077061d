//! Transaction algorithms written once, over a small per-backend driver whose methods only run
//! SQL (River's idea: drivers execute, they do not decide). What a transaction does with the
//! job's book lives here; how each backend locks and writes lives in its driver
//! (`sqlite/driver.rs`, `postgres/driver.rs`).

pub(crate) mod categories;
pub(crate) mod completion;
pub(crate) mod control;
pub(crate) mod creation;
pub(crate) mod deletion;
pub(crate) mod documents;
mod events;
pub(crate) mod jobs;
pub(crate) mod listing;
pub(crate) mod queue;
pub(crate) mod sql;
mod tokens;
mod webhooks;

use async_trait::async_trait;
use docket_core::{JobBook, Millis};

use crate::{NewItem, StoreError};

/// The statements every book-keeping transaction runs.
#[async_trait]
pub(crate) trait BookDriver: Send + Sync {
    type Tx: Send;
    async fn begin(&self) -> Result<Self::Tx, StoreError>;
    /// Writes a job's book (its state and counters) back.
    async fn write_book(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        book: &JobBook,
        now: Millis,
    ) -> Result<(), StoreError>;
    /// Inserts items of a job, pending.
    async fn insert_items(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        items: &[NewItem],
    ) -> Result<(), StoreError>;
    /// Tells idle engines of other processes that there is work (a no-op where the backend
    /// has no such signal).
    async fn announce_work(&self, tx: &mut Self::Tx) -> Result<(), StoreError>;
    async fn commit(&self, tx: Self::Tx) -> Result<(), StoreError>;
    async fn rollback(&self, tx: Self::Tx) -> Result<(), StoreError>;
}
