//! API tokens, stored hashed.

use super::*;

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create_token(
        &self,
        user: &str,
        hash: &str,
        label: Option<&str>,
        now: Millis,
    ) -> Result<TokenInfo, StoreError> {
        let mut tx = self.begin().await?;
        let row: TokenRow = sqlx::query_as(
            "INSERT INTO tokens (id, user_id, hash, label, created_at) VALUES (?, ?, ?, ?, ?) \
             RETURNING id, user_id, label, created_at, revoked_at",
        )
        .bind(token_id(hash))
        .bind(user)
        .bind(hash)
        .bind(label)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn token_user(&self, hash: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT user_id FROM tokens WHERE hash = ? AND revoked_at IS NULL")
                .bind(hash)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, user_id, label, created_at, revoked_at FROM tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().map(TokenInfo::from).collect())
    }

    async fn revoke_token(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }
}
