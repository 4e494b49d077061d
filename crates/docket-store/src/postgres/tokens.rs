//! API tokens, stored hashed.

use super::*;

#[async_trait]
impl TokenStore for PgStore {
    async fn create_token(
        &self,
        user: &str,
        hash: &str,
        label: Option<&str>,
        now: Millis,
    ) -> Result<TokenInfo, StoreError> {
        if [Some(user), Some(hash), label]
            .into_iter()
            .flatten()
            .any(|s| s.contains('\0'))
        {
            return Err(StoreError::Invalid(
                "a token's user, hash and label cannot contain a NUL character".into(),
            ));
        }
        let row: TokenRow = sqlx::query_as(
            "INSERT INTO tokens (id, user_id, hash, label, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, user_id, label, created_at, revoked_at",
        )
        .bind(token_id(hash))
        .bind(user)
        .bind(hash)
        .bind(label)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.into())
    }

    async fn token_user(&self, hash: &str) -> Result<Option<String>, StoreError> {
        if hash.contains('\0') {
            return Ok(None);
        }
        Ok(
            sqlx::query_scalar("SELECT user_id FROM tokens WHERE hash = $1 AND revoked_at IS NULL")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, user_id, label, created_at, revoked_at FROM tokens \
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(TokenInfo::from).collect())
    }

    async fn revoke_token(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        if id.contains('\0') {
            return Ok(false);
        }
        let n =
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(n > 0)
    }
}
