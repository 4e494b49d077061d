//! Test support shared by every crate's tests (feature `testing`): fresh databases.
//!
//! PostgreSQL comes from `DOCKET_TEST_POSTGRES_URL` (an account allowed to create databases,
//! e.g. `postgres://postgres@127.0.0.1:5432/postgres`; `scripts/test.sh` sets it). A missing
//! variable or an unreachable server fails the tests with a message naming the variable: they
//! are never skipped, and never quietly aimed at a server nobody chose. Each fresh database is `docket_t_<unix seconds>_<uuid>`;
//! databases of this shape older than an hour are dropped when a new one is made, so runs clean
//! up after the ones before them.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Connection, PgConnection};

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::Store;

const PREFIX: &str = "docket_t_";
const STALE_AFTER_SECS: u64 = 3600;

/// The admin URL from `DOCKET_TEST_POSTGRES_URL`. Panics when it is not set: a PostgreSQL
/// test must fail, not skip or guess.
pub fn admin_url() -> String {
    match std::env::var("DOCKET_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "DOCKET_TEST_POSTGRES_URL is not set: PostgreSQL tests need it, e.g. \
             DOCKET_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
             (an account that may create databases)"
        ),
    }
}

/// The admin URL with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Drops test databases left by runs more than an hour ago. Failures are ignored: another
/// test process may be dropping the same one.
async fn drop_stale(admin: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'docket\\_t\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    let now = unix_secs();
    for name in names {
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|c| c + STALE_AFTER_SECS < now) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// Creates a fresh, empty PostgreSQL database and returns its URL. Panics if PostgreSQL cannot
/// be reached: tests that need it must fail, never skip.
pub async fn fresh_postgres_url() -> String {
    let admin_url = admin_url();
    let connecting = PgConnection::connect(&admin_url);
    let mut admin = match tokio::time::timeout(Duration::from_secs(30), connecting).await {
        Ok(Ok(c)) => c,
        Err(_) => panic!(
            "cannot reach PostgreSQL at {admin_url} (DOCKET_TEST_POSTGRES_URL): no answer within 30s"
        ),
        Ok(Err(e)) => panic!(
            "cannot reach PostgreSQL at {admin_url} (set DOCKET_TEST_POSTGRES_URL to a server \
             where this account may create databases): {e}"
        ),
    };
    drop_stale(&mut admin).await;
    let name = format!("{PREFIX}{}_{}", unix_secs(), uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name} at {admin_url}: {e}"));
    let _ = admin.close().await;
    with_database(&admin_url, &name)
}

/// A migrated PostgreSQL store on a fresh database.
pub async fn fresh_postgres() -> Arc<dyn Store> {
    let url = fresh_postgres_url().await;
    match PgStore::connect(&url).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!("cannot open the postgres store at {url}: {e}"),
    }
}

/// A migrated SQLite store in a fresh temporary directory (kept for the life of the process),
/// and its URL.
pub async fn fresh_sqlite() -> (Arc<dyn Store>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/docket.db", dir.path().display());
    std::mem::forget(dir);
    let store = SqliteStore::connect(&url).await.expect("open sqlite store");
    (Arc::new(store), url)
}
