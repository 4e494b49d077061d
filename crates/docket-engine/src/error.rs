#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] docket_store::StoreError),
    #[error("invalid engine configuration: {0}")]
    Config(String),
}
