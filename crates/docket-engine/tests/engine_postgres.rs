//! The engine's behaviour on PostgreSQL (a fresh database per test; never skipped).

mod common;

use std::sync::Arc;

use docket_store::Store;

async fn open() -> Arc<dyn Store> {
    docket_store::testing::fresh_postgres().await
}

engine_suite!(open);
