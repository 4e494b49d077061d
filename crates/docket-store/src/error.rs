use docket_core::CoreError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Rule(#[from] CoreError),
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The write would break a uniqueness rule (e.g. two categories with one name).
    #[error("{0}")]
    Conflict(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether retrying later may succeed (the database was busy or unreachable).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                ) || is_transient_code(e)
            }
            _ => false,
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// SQLite busy/locked, PostgreSQL serialization failures, deadlocks, shutdowns and lost
/// connections: the statement may well succeed if tried again.
fn is_transient_code(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let Some(code) = db.code() else { return false };
    matches!(
        code.as_ref(),
        "5" | "6" | "261" | "517" | "40001" | "40P01" | "57P01" | "57P02" | "57P03"
    ) || code.starts_with("08")
}
