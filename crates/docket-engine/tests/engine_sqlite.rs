//! The engine's behaviour on SQLite.

mod common;

use std::sync::Arc;

use docket_store::prelude::*;

async fn open() -> Arc<dyn Store> {
    docket_store::testing::fresh_sqlite().await.0
}

engine_suite!(open);
