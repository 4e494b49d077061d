//! API tokens, stored hashed. Written once: the statements read alike in both dialects.

use async_trait::async_trait;
use docket_core::Millis;

use super::sql::{On, Sql, Statements};
use crate::row::{token_id, TokenRow};
use crate::{StoreError, TokenInfo, TokenStore};

const TOKEN_COLUMNS: &str = "id, user_id, label, created_at, revoked_at";

#[async_trait]
impl<D: Statements + 'static> TokenStore for D {
    async fn create_token(
        &self,
        user: &str,
        hash: &str,
        label: Option<&str>,
        now: Millis,
    ) -> Result<TokenInfo, StoreError> {
        if !self.stores_nul()
            && [Some(user), Some(hash), label]
                .into_iter()
                .flatten()
                .any(|s| s.contains('\0'))
        {
            return Err(StoreError::Invalid(
                "a token's user, hash and label cannot contain a NUL character".into(),
            ));
        }
        let id = token_id(hash);
        let mut tx = self.begin().await?;
        let row: TokenRow = self
            .fetch_one(
                On::Tx(&mut tx),
                Sql::same(&format!(
                    "INSERT INTO tokens (id, user_id, hash, label, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
                )),
                &[
                    (&id).into(),
                    user.into(),
                    hash.into(),
                    label.into(),
                    now.into(),
                ],
            )
            .await?;
        self.commit(tx).await?;
        Ok(row.into())
    }

    async fn token_user(&self, hash: &str) -> Result<Option<String>, StoreError> {
        if !self.stores_nul() && hash.contains('\0') {
            return Ok(None);
        }
        let user: Option<(String,)> = self
            .fetch_optional(
                On::Read,
                Sql::same("SELECT user_id FROM tokens WHERE hash = $1 AND revoked_at IS NULL"),
                &[hash.into()],
            )
            .await?;
        Ok(user.map(|(user,)| user))
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let rows: Vec<TokenRow> = self
            .fetch_all(
                On::Read,
                Sql::same(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id"
                )),
                &[],
            )
            .await?;
        Ok(rows.into_iter().map(TokenInfo::from).collect())
    }

    async fn revoke_token(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        if !self.stores_nul() && id.contains('\0') {
            return Ok(false);
        }
        let n = self
            .execute_alone(
                Sql::same("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"),
                &[now.into(), id.into()],
            )
            .await?;
        Ok(n > 0)
    }
}
