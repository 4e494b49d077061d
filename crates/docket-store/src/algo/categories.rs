//! Category rules: names are unique per user, and every change of the rules makes the user's
//! classifier due for training again (its labels version goes up in the same transaction).

use async_trait::async_trait;
use docket_core::Millis;

use super::BookDriver;
use crate::row::CategoryRow;
use crate::{Category, CategoryRule, StoreError};

/// The statements a backend runs for changing categories.
#[async_trait]
pub(crate) trait CategoryDriver: BookDriver {
    /// The id of `user`'s category called `name`.
    async fn category_named(
        &self,
        tx: &mut Self::Tx,
        user: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError>;
    async fn insert_category(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        user: &str,
        rule: &CategoryRule,
        now: Millis,
    ) -> Result<Option<CategoryRow>, StoreError>;
    /// `None` when `user` has no category `id`.
    async fn update_category(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        user: &str,
        rule: &CategoryRule,
        now: Millis,
    ) -> Result<Option<CategoryRow>, StoreError>;
    /// `false` when `user` has no category `id`.
    async fn delete_category_row(
        &self,
        tx: &mut Self::Tx,
        id: &str,
        user: &str,
    ) -> Result<bool, StoreError>;
    /// Raises the user's labels version, so that the trainer trains again.
    async fn bump_labels(&self, tx: &mut Self::Tx, user: &str) -> Result<(), StoreError>;
}

/// Creates (`id` is `None`) or replaces a category rule.
pub(crate) async fn put_category<D: CategoryDriver>(
    driver: &D,
    user: &str,
    id: Option<&str>,
    rule: CategoryRule,
    now: Millis,
) -> Result<Category, StoreError> {
    let mut tx = driver.begin().await?;
    let taken = driver.category_named(&mut tx, user, &rule.name).await?;
    if taken.is_some() && taken.as_deref() != id {
        return Err(StoreError::Conflict(format!(
            "a category named `{}` exists already",
            rule.name
        )));
    }
    let row = match id {
        None => {
            let id = format!("cat_{}", uuid::Uuid::now_v7().simple());
            driver
                .insert_category(&mut tx, &id, user, &rule, now)
                .await?
        }
        Some(id) => {
            driver
                .update_category(&mut tx, id, user, &rule, now)
                .await?
        }
    };
    let row = row.ok_or(StoreError::NotFound)?;
    driver.bump_labels(&mut tx, user).await?;
    driver.commit(tx).await?;
    Ok(row.into_category())
}

/// Deletes a category rule; `false` if there was none.
pub(crate) async fn delete_category<D: CategoryDriver>(
    driver: &D,
    user: &str,
    id: &str,
) -> Result<bool, StoreError> {
    let mut tx = driver.begin().await?;
    let deleted = driver.delete_category_row(&mut tx, id, user).await?;
    if deleted {
        driver.bump_labels(&mut tx, user).await?;
    }
    driver.commit(tx).await?;
    Ok(deleted)
}
