//! The statements of this backend's transaction algorithms ([`crate::algo`]): a job row is
//! locked first (`FOR UPDATE`), then its items, and work is announced with NOTIFY.

use sqlx::postgres::PgArguments;

use super::*;
use crate::algo::sql::{arguments, Arg, Decoded, On, Sql, Statements};
use crate::algo::BookDriver;

#[async_trait]
impl BookDriver for PgStore {
    type Tx = Tx;

    async fn begin(&self) -> Result<Tx, StoreError> {
        PgStore::begin(self).await
    }

    async fn insert_items(
        &self,
        tx: &mut Tx,
        id: &str,
        items: &[NewItem],
    ) -> Result<(), StoreError> {
        Self::insert_items(tx, id, items).await
    }

    async fn announce_work(&self, tx: &mut Tx) -> Result<(), StoreError> {
        Self::notify_work(tx).await
    }

    async fn commit(&self, tx: Tx) -> Result<(), StoreError> {
        Ok(tx.commit().await?)
    }

    async fn rollback(&self, tx: Tx) -> Result<(), StoreError> {
        Ok(tx.rollback().await?)
    }
}

#[async_trait]
impl Statements for PgStore {
    async fn execute(
        &self,
        tx: &mut Tx,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query_with(sql.postgres, pg_arguments(args)?)
            .execute(&mut **tx)
            .await?
            .rows_affected())
    }

    /// One statement is a transaction of its own here: it runs on the pool (autocommit),
    /// without a `BEGIN` and `COMMIT` around it.
    async fn execute_alone(&self, sql: Sql<'_>, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        Ok(sqlx::query_with(sql.postgres, pg_arguments(args)?)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// PostgreSQL text cannot hold NUL.
    fn stores_nul(&self) -> bool {
        false
    }

    async fn fetch_all<R: Decoded>(
        &self,
        on: On<'_, Tx>,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<Vec<R>, StoreError> {
        let query = sqlx::query_as_with(sql.postgres, pg_arguments(args)?);
        Ok(match on {
            On::Read => query.fetch_all(&self.pool).await?,
            On::Tx(tx) => query.fetch_all(&mut **tx).await?,
        })
    }
}

/// Lists bind as arrays (`= ANY($1)`).
fn pg_arguments<'q>(args: &[Arg<'q>]) -> Result<PgArguments, StoreError> {
    arguments(args, |ids| ids, |names| names)
}
