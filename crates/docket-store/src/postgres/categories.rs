//! Categories, hand labels and the trained classification models.

use super::*;
use crate::algo::categories::{self, CategoryDriver};

#[async_trait]
impl CategoryStore for PgStore {
    async fn list_categories(&self, user: &str) -> Result<Vec<Category>, StoreError> {
        let rows: Vec<CategoryRow> = sqlx::query_as(
            "SELECT id, name, algorithm, pattern, case_insensitive, created_at, updated_at FROM categories WHERE user_id = $1 ORDER BY id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(CategoryRow::into_category).collect())
    }

    async fn put_category(
        &self,
        user: &str,
        id: Option<&str>,
        rule: CategoryRule,
        now: Millis,
    ) -> Result<Category, StoreError> {
        categories::put_category(self, user, id, rule, now).await
    }

    async fn delete_category(&self, user: &str, id: &str) -> Result<bool, StoreError> {
        categories::delete_category(self, user, id).await
    }

    async fn training_due(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT user_id, labels_version FROM classifiers \
             WHERE trained_version < labels_version ORDER BY user_id LIMIT 100",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn labelled_texts(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT text, category FROM documents WHERE user_id = $1 AND labelled = true \
             AND category IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(user)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn save_model(
        &self,
        user: &str,
        labels_version: i64,
        model: Option<String>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE classifiers SET model = $3, trained_version = $2, trained_at = $4 \
             WHERE user_id = $1 AND trained_version < $2",
        )
        .bind(user)
        .bind(labels_version)
        .bind(model)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_model(&self, user: &str) -> Result<Option<StoredModel>, StoreError> {
        let row: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT trained_version, model FROM classifiers WHERE user_id = $1 AND trained_version > 0",
        )
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(labels_version, model)| StoredModel {
            labels_version,
            model,
        }))
    }
}

#[async_trait]
impl CategoryDriver for PgStore {
    async fn category_named(
        &self,
        tx: &mut Tx,
        user: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM categories WHERE user_id = $1 AND name = $2")
                .bind(user)
                .bind(name)
                .fetch_optional(&mut **tx)
                .await?,
        )
    }

    async fn insert_category(
        &self,
        tx: &mut Tx,
        id: &str,
        user: &str,
        rule: &CategoryRule,
        now: Millis,
    ) -> Result<Option<CategoryRow>, StoreError> {
        Ok(sqlx::query_as(
            "INSERT INTO categories (id, user_id, name, algorithm, pattern, case_insensitive, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 RETURNING id, name, algorithm, pattern, case_insensitive, created_at, updated_at",
        )
        .bind(id)
        .bind(user)
        .bind(&rule.name)
        .bind(&rule.algorithm)
        .bind(&rule.pattern)
        .bind(rule.case_insensitive)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
    }

    async fn update_category(
        &self,
        tx: &mut Tx,
        id: &str,
        user: &str,
        rule: &CategoryRule,
        now: Millis,
    ) -> Result<Option<CategoryRow>, StoreError> {
        Ok(sqlx::query_as(
            "UPDATE categories SET name = $3, algorithm = $4, pattern = $5, \
                 case_insensitive = $6, updated_at = $7 WHERE id = $1 AND user_id = $2 \
                 RETURNING id, name, algorithm, pattern, case_insensitive, created_at, updated_at",
        )
        .bind(id)
        .bind(user)
        .bind(&rule.name)
        .bind(&rule.algorithm)
        .bind(&rule.pattern)
        .bind(rule.case_insensitive)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
    }

    async fn delete_category_row(
        &self,
        tx: &mut Tx,
        id: &str,
        user: &str,
    ) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM categories WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user)
                .execute(&mut **tx)
                .await?
                .rows_affected()
                > 0,
        )
    }

    async fn bump_labels(&self, tx: &mut Tx, user: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO classifiers (user_id) VALUES ($1) ON CONFLICT (user_id) DO UPDATE SET labels_version = classifiers.labels_version + 1")
            .bind(user)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
