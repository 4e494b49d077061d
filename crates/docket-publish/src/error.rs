/// What can go wrong in publishing, outside a single item (whose errors become the item's).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("publish target `{target}`: {why}")]
    Config { target: String, why: String },
}
