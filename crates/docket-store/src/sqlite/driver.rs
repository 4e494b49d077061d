//! The statements of this backend's transaction algorithms ([`crate::algo`]): one writer,
//! `BEGIN IMMEDIATE`, items stamped with this transaction's event clock tick.

use sqlx::sqlite::SqliteArguments;

use super::*;
use crate::algo::sql::{arguments, Arg, Decoded, On, Sql, Statements};
use crate::algo::BookDriver;

#[async_trait]
impl BookDriver for SqliteStore {
    type Tx = Tx;

    async fn begin(&self) -> Result<Tx, StoreError> {
        SqliteStore::begin(self).await
    }

    async fn insert_items(
        &self,
        tx: &mut Tx,
        id: &str,
        items: &[NewItem],
    ) -> Result<(), StoreError> {
        Self::insert_items(tx, id, items).await
    }

    /// SQLite has no cross-process signal: engines poll.
    async fn announce_work(&self, _tx: &mut Tx) -> Result<(), StoreError> {
        Ok(())
    }

    async fn commit(&self, tx: Tx) -> Result<(), StoreError> {
        Ok(tx.commit().await?)
    }

    async fn rollback(&self, tx: Tx) -> Result<(), StoreError> {
        Ok(tx.rollback().await?)
    }
}

#[async_trait]
impl Statements for SqliteStore {
    async fn execute(
        &self,
        tx: &mut Tx,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query_with(sql.sqlite, sqlite_arguments(args)?)
            .execute(&mut **tx)
            .await?
            .rows_affected())
    }

    /// SQLite text holds any character.
    fn stores_nul(&self) -> bool {
        true
    }

    async fn fetch_all<R: Decoded>(
        &self,
        on: On<'_, Tx>,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<Vec<R>, StoreError> {
        let query = sqlx::query_as_with(sql.sqlite, sqlite_arguments(args)?);
        Ok(match on {
            On::Read => query.fetch_all(&self.reader).await?,
            On::Tx(tx) => query.fetch_all(&mut **tx).await?,
        })
    }
}

/// A list binds as a JSON array (read back with `json_each`).
fn sqlite_arguments<'q>(args: &[Arg<'q>]) -> Result<SqliteArguments<'q>, StoreError> {
    arguments(
        args,
        |ids| ids_json(ids.iter().copied()),
        |names| serde_json::Value::from(names).to_string(),
    )
}
