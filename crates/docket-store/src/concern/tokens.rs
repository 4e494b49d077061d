//! API tokens, stored hashed.

use async_trait::async_trait;
use docket_core::Millis;

use crate::*;

#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    async fn create_token(
        &self,
        user: &str,
        hash: &str,
        label: Option<&str>,
        now: Millis,
    ) -> Result<TokenInfo, StoreError>;

    /// The user a (hashed) token belongs to, unless revoked.
    async fn token_user(&self, hash: &str) -> Result<Option<String>, StoreError>;

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;

    /// Returns false when no active token has this id.
    async fn revoke_token(&self, id: &str, now: Millis) -> Result<bool, StoreError>;
}
