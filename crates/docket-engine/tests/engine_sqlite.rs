//! The engine's behaviour on SQLite.

mod common;

use std::sync::Arc;

use docket_store::{sqlite::SqliteStore, Store};

async fn open() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/docket.db", dir.path().display());
    std::mem::forget(dir);
    Arc::new(SqliteStore::connect(&url).await.expect("open sqlite store"))
}

engine_suite!(open);
