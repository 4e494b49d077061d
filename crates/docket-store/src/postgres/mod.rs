//! PostgreSQL backend: placeholder until implemented.
use crate::StoreError;
pub struct PgStore;
impl PgStore {
    pub async fn connect(_url: &str) -> Result<crate::sqlite::SqliteStore, StoreError> {
        Err(StoreError::Config("postgres backend not built yet".into()))
    }
}
