#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Engine(#[from] docket_engine::EngineError),
    #[error("starting the webhook sender: {0}")]
    Webhooks(String),
    #[error("setting up publishing: {0}")]
    Publish(String),
    #[error("setting up the remotes: {0}")]
    Remotes(String),
    #[error("the engine task failed: {0}")]
    EngineTask(String),
}
