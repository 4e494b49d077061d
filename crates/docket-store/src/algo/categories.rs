//! Category rules: names are unique per user, and every change of the rules makes the user's
//! classifier due for training again (its labels version goes up in the same transaction).
//! Written once: the statements read alike in both dialects.

use async_trait::async_trait;
use docket_core::Millis;

use super::sql::{On, Sql, Statements};
use crate::row::CategoryRow;
use crate::{Category, CategoryRule, CategoryStore, StoreError, StoredModel};

const CATEGORY_COLUMNS: &str =
    "id, name, algorithm, pattern, case_insensitive, created_at, updated_at";

/// Raises the user's labels version, so that the trainer trains again.
pub(crate) const BUMP_LABELS: Sql = Sql::same(
    "INSERT INTO classifiers (user_id) VALUES ($1) ON CONFLICT (user_id) \
     DO UPDATE SET labels_version = classifiers.labels_version + 1",
);

#[async_trait]
impl<D: Statements + 'static> CategoryStore for D {
    async fn list_categories(&self, user: &str) -> Result<Vec<Category>, StoreError> {
        let rows: Vec<CategoryRow> = self
            .fetch_all(
                On::Read,
                Sql::same(&format!(
                    "SELECT {CATEGORY_COLUMNS} FROM categories WHERE user_id = $1 ORDER BY id"
                )),
                &[user.into()],
            )
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
        put_category(self, user, id, rule, now).await
    }

    async fn delete_category(&self, user: &str, id: &str) -> Result<bool, StoreError> {
        delete_category(self, user, id).await
    }

    async fn training_due(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.fetch_all(
            On::Read,
            Sql::same(
                "SELECT user_id, labels_version FROM classifiers \
                 WHERE trained_version < labels_version ORDER BY user_id LIMIT 100",
            ),
            &[],
        )
        .await
    }

    async fn labelled_texts(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.fetch_all(
            On::Read,
            Sql::same(
                "SELECT text, category FROM documents WHERE user_id = $1 AND labelled = true \
                 AND category IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT $2",
            ),
            &[user.into(), (limit as i64).into()],
        )
        .await
    }

    async fn save_model(
        &self,
        user: &str,
        labels_version: i64,
        model: Option<String>,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.execute_alone(
            Sql::same(
                "UPDATE classifiers SET model = $3, trained_version = $2, trained_at = $4 \
                 WHERE user_id = $1 AND trained_version < $2",
            ),
            &[
                user.into(),
                labels_version.into(),
                model.as_deref().into(),
                now.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn load_model(&self, user: &str) -> Result<Option<StoredModel>, StoreError> {
        let row: Option<(i64, Option<String>)> = self
            .fetch_optional(
                On::Read,
                Sql::same(
                    "SELECT trained_version, model FROM classifiers \
                     WHERE user_id = $1 AND trained_version > 0",
                ),
                &[user.into()],
            )
            .await?;
        Ok(row.map(|(labels_version, model)| StoredModel {
            labels_version,
            model,
        }))
    }
}

/// Creates (`id` is `None`) or replaces a category rule.
async fn put_category<D: Statements>(
    driver: &D,
    user: &str,
    id: Option<&str>,
    rule: CategoryRule,
    now: Millis,
) -> Result<Category, StoreError> {
    let mut tx = driver.begin().await?;
    let taken: Option<(String,)> = driver
        .fetch_optional(
            On::Tx(&mut tx),
            Sql::same("SELECT id FROM categories WHERE user_id = $1 AND name = $2"),
            &[user.into(), (&rule.name).into()],
        )
        .await?;
    let taken = taken.map(|(id,)| id);
    if taken.is_some() && taken.as_deref() != id {
        return Err(StoreError::Conflict(format!(
            "a category named `{}` exists already",
            rule.name
        )));
    }
    let new_id;
    let (sql, id) = match id {
        None => {
            new_id = format!("cat_{}", uuid::Uuid::now_v7().simple());
            (
                format!(
                    "INSERT INTO categories (id, user_id, name, algorithm, pattern, \
                     case_insensitive, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {CATEGORY_COLUMNS}"
                ),
                new_id.as_str(),
            )
        }
        Some(id) => (
            format!(
                "UPDATE categories SET name = $3, algorithm = $4, pattern = $5, \
                 case_insensitive = $6, updated_at = $7 WHERE id = $1 AND user_id = $2 \
                 RETURNING {CATEGORY_COLUMNS}"
            ),
            id,
        ),
    };
    let row: Option<CategoryRow> = driver
        .fetch_optional(
            On::Tx(&mut tx),
            Sql::same(&sql),
            &[
                id.into(),
                user.into(),
                (&rule.name).into(),
                (&rule.algorithm).into(),
                (&rule.pattern).into(),
                rule.case_insensitive.into(),
                now.into(),
            ],
        )
        .await?;
    let row = row.ok_or(StoreError::NotFound)?;
    driver.execute(&mut tx, BUMP_LABELS, &[user.into()]).await?;
    driver.commit(tx).await?;
    Ok(row.into_category())
}

/// Deletes a category rule; `false` if there was none.
async fn delete_category<D: Statements>(
    driver: &D,
    user: &str,
    id: &str,
) -> Result<bool, StoreError> {
    let mut tx = driver.begin().await?;
    let deleted = driver
        .execute(
            &mut tx,
            Sql::same("DELETE FROM categories WHERE id = $1 AND user_id = $2"),
            &[id.into(), user.into()],
        )
        .await?
        > 0;
    if deleted {
        driver.execute(&mut tx, BUMP_LABELS, &[user.into()]).await?;
    }
    driver.commit(tx).await?;
    Ok(deleted)
}
