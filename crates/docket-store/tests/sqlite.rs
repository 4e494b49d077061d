//! The conformance suite on SQLite: a fresh database file per test.

use std::sync::Arc;

use docket_store::{sqlite::SqliteStore, Store};

async fn open() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/docket.db", dir.path().display());
    // The directory lives as long as the test process; each test has its own.
    std::mem::forget(dir);
    Arc::new(SqliteStore::connect(&url).await.expect("open sqlite store"))
}

docket_store::conformance_suite!(open);
