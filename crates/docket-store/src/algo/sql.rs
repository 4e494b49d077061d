//! Statements whose Rust is the same on both backends: the shared code names the statement
//! and its values, a backend only binds and runs them ([`Statements`]). Both backends take
//! `$N` placeholders (sqlx binds `$N` by number on SQLite too), so a statement whose SQL is the
//! same in both dialects is one text ([`Sql::same`]); one that differs is a pair
//! ([`Sql::each`]).

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Database, Encode, FromRow, Type};

use super::BookDriver;
use crate::StoreError;

/// A value bound to a statement: the kinds of value the shared statements bind.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    OptReal(Option<f64>),
    Bool(bool),
    /// A list of ids: a JSON array on SQLite (`json_each`), a `bigint[]` on PostgreSQL.
    Ids(&'a [i64]),
    /// A list of names (job ids): a JSON array on SQLite, a `text[]` on PostgreSQL.
    Names(&'a [String]),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v)
    }
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}

impl From<Option<f64>> for Arg<'_> {
    fn from(v: Option<f64>) -> Self {
        Arg::OptReal(v)
    }
}

impl<'a> From<&'a [i64]> for Arg<'a> {
    fn from(v: &'a [i64]) -> Self {
        Arg::Ids(v)
    }
}

impl<'a> From<&'a [String]> for Arg<'a> {
    fn from(v: &'a [String]) -> Self {
        Arg::Names(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// One statement in each backend's dialect.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sql<'s> {
    pub sqlite: &'s str,
    pub postgres: &'s str,
}

impl<'s> Sql<'s> {
    /// A statement both dialects read alike.
    pub const fn same(text: &'s str) -> Sql<'s> {
        Sql {
            sqlite: text,
            postgres: text,
        }
    }

    /// A statement each dialect spells its own way.
    pub const fn each(sqlite: &'s str, postgres: &'s str) -> Sql<'s> {
        Sql { sqlite, postgres }
    }
}

/// Where a statement runs: outside any transaction (SQLite's readers, PostgreSQL's pool), or
/// inside one.
pub(crate) enum On<'t, Tx> {
    Read,
    Tx(&'t mut Tx),
}

/// A row type both backends decode (every `#[derive(FromRow)]` row and tuple of columns).
pub(crate) trait Decoded:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<R> Decoded for R where
    R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// Binds and runs a statement; a backend's only part in the statements written once.
#[async_trait]
pub(crate) trait Statements: BookDriver {
    /// Runs a statement in `tx`; how many rows it changed.
    async fn execute(
        &self,
        tx: &mut Self::Tx,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<u64, StoreError>;

    async fn fetch_all<R: Decoded>(
        &self,
        on: On<'_, Self::Tx>,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<Vec<R>, StoreError>;

    /// The first row of a statement that answers at most one (by a unique key, `LIMIT 1`
    /// or `RETURNING` of one row); read in full, so that a write runs to its end.
    async fn fetch_optional<R: Decoded>(
        &self,
        on: On<'_, Self::Tx>,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<Option<R>, StoreError> {
        Ok(self.fetch_all(on, sql, args).await?.into_iter().next())
    }

    /// Whether a text value may hold a NUL character (PostgreSQL's text cannot).
    fn stores_nul(&self) -> bool;

    /// A statement that always answers one row (`INSERT … RETURNING`).
    async fn fetch_one<R: Decoded>(
        &self,
        on: On<'_, Self::Tx>,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<R, StoreError> {
        self.fetch_optional(on, sql, args)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// A statement run in a transaction of its own.
    async fn execute_alone(&self, sql: Sql<'_>, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let n = self.execute(&mut tx, sql, args).await?;
        self.commit(tx).await?;
        Ok(n)
    }
}

/// A backend's arguments for a shared statement; `list` and `names` are how it binds a list
/// of ids and a list of names.
pub(crate) fn arguments<'q, A, L, N>(
    args: &[Arg<'q>],
    list: impl Fn(&'q [i64]) -> L,
    names: impl Fn(&'q [String]) -> N,
) -> Result<A, StoreError>
where
    A: sqlx::Arguments<'q> + Default,
    L: 'q + Encode<'q, A::Database> + Type<A::Database>,
    N: 'q + Encode<'q, A::Database> + Type<A::Database>,
    A::Database: Database,
    &'q str: Encode<'q, A::Database> + Type<A::Database>,
    Option<&'q str>: Encode<'q, A::Database> + Type<A::Database>,
    i64: Encode<'q, A::Database> + Type<A::Database>,
    Option<i64>: Encode<'q, A::Database> + Type<A::Database>,
    Option<f64>: Encode<'q, A::Database> + Type<A::Database>,
    bool: Encode<'q, A::Database> + Type<A::Database>,
{
    let mut out = A::default();
    for arg in args {
        match *arg {
            Arg::Text(v) => out.add(v),
            Arg::OptText(v) => out.add(v),
            Arg::Int(v) => out.add(v),
            Arg::OptInt(v) => out.add(v),
            Arg::OptReal(v) => out.add(v),
            Arg::Bool(v) => out.add(v),
            Arg::Ids(v) => out.add(list(v)),
            Arg::Names(v) => out.add(names(v)),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}
