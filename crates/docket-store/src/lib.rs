//! Durable storage for jobs, items and results behind one trait, [`Store`], with two backends:
//! SQLite (the embedded default) and PostgreSQL (for many worker processes). Both run the same
//! conformance suite ([`conformance`]).

mod algo;
mod concern;
#[cfg(feature = "testing")]
pub mod conformance;
mod error;
mod nul;
mod plan;
pub mod postgres;
mod row;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod types;

use std::sync::Arc;

pub use concern::*;
pub use error::StoreError;
pub use types::*;

/// Everything the engine and the API need from a database, as one trait object
/// (`Arc<dyn Store>`): the concern traits together. Every method is one transaction. Callers
/// bring the concern traits into scope with `use docket_store::prelude::*`.
pub trait Store:
    JobStore
    + QueueStore
    + ListingStore
    + DocumentStore
    + CategoryStore
    + TokenStore
    + WebhookStore
    + EventStore
    + ExportStore
    + StatsStore
    + UploadStore
    + StorageStore
    + Deletions
    + RemoteStore
    + ScheduleStore
    + TestHooks
{
}

impl<T> Store for T where
    T: JobStore
        + QueueStore
        + ListingStore
        + DocumentStore
        + CategoryStore
        + TokenStore
        + WebhookStore
        + EventStore
        + ExportStore
        + StatsStore
        + UploadStore
        + StorageStore
        + Deletions
        + RemoteStore
        + ScheduleStore
        + TestHooks
{
}

/// With the `testing` feature, a store also answers the schema probes of the conformance
/// suite; without it, the probes do not exist.
#[cfg(feature = "testing")]
pub trait TestHooks: SchemaProbe {}
#[cfg(feature = "testing")]
impl<T: SchemaProbe> TestHooks for T {}
#[cfg(not(feature = "testing"))]
pub trait TestHooks {}
#[cfg(not(feature = "testing"))]
impl<T> TestHooks for T {}

/// The store trait and its concerns, to call store methods on an `Arc<dyn Store>`.
pub mod prelude {
    pub use crate::concern::*;
    pub use crate::Store;
}

/// Opens (and migrates) the store named by a database URL: `sqlite://PATH` or `postgres://…`.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::Config(format!(
            "unsupported database URL `{url}`: use sqlite://PATH or postgres://…"
        )))
    }
}
