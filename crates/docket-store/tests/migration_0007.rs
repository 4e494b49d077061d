//! Migration 0007 turns item payloads and job sources written before typed payloads into their
//! tagged shape. Each backend's database is migrated to 0006, given rows of the old shapes, and
//! then opened by the store (which runs 0007).

use std::borrow::Cow;

use docket_core::{ItemPayload, JobSource};
use docket_store::prelude::*;

/// Job rows (id, kind, source) and item rows (job, payload) as the API and listers wrote them.
const OLD_JOBS: &[(&str, &str, Option<&str>)] = &[
    ("j-upload", "process", None),
    ("j-folder", "process", Some(r#"{"path":"/srv/scans"}"#)),
    ("j-reindex", "reindex", Some(r#"{"documents_of":"alice"}"#)),
    ("j-noop", "noop", None),
];
const OLD_ITEMS: &[(&str, &str)] = &[
    (
        "j-upload",
        r#"{"blob":"uploads/j-upload/000000","size":3,"sha256":"abc"}"#,
    ),
    ("j-folder", r#"{"path":"/srv/scans/a.pdf"}"#),
    ("j-reindex", r#"{"document_id":"d1"}"#),
    ("j-noop", r#"{"sleep_ms":5}"#),
    ("j-noop", "null"),
];

fn expected_payloads() -> Vec<ItemPayload> {
    vec![
        ItemPayload::Upload {
            blob: "uploads/j-upload/000000".into(),
            size: 3,
            sha256: "abc".into(),
        },
        ItemPayload::ServerFile {
            path: "/srv/scans/a.pdf".into(),
        },
        ItemPayload::Document {
            document_id: "d1".into(),
        },
        ItemPayload::Noop { sleep_ms: Some(5) },
        ItemPayload::Noop { sleep_ms: None },
    ]
}

fn expected_sources() -> Vec<(String, JobSource)> {
    vec![
        (
            "j-folder".into(),
            JobSource::Folder {
                path: "/srv/scans".into(),
            },
        ),
        (
            "j-reindex".into(),
            JobSource::Documents {
                documents_of: "alice".into(),
            },
        ),
    ]
}

fn before_0007(mut m: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    m.migrations = Cow::Owned(
        m.migrations
            .iter()
            .filter(|x| x.version < 7)
            .cloned()
            .collect(),
    );
    m
}

const JOB_INSERT: &str = "INSERT INTO jobs (id, user_id, kind, state, created_at, updated_at, \
     total, pending, running, retrying, succeeded, failed, cancelled, max_retries, \
     auto_pause_after, item_timeout_ms, options, source) \
     VALUES ($1, 'u', $2, 'queued', 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 60000, '{}', ";

#[tokio::test]
async fn sqlite_rows_of_the_old_shape_are_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
            .await
            .unwrap();
        before_0007(sqlx::migrate!("./migrations/sqlite"))
            .run(&pool)
            .await
            .unwrap();
        for (id, kind, source) in OLD_JOBS {
            // SQLite numbers its parameters `?N`.
            sqlx::query(&format!("{JOB_INSERT} $3)").replace('$', "?"))
                .bind(id)
                .bind(kind)
                .bind(source)
                .execute(&pool)
                .await
                .unwrap();
        }
        for (job, payload) in OLD_ITEMS {
            sqlx::query(
                "INSERT INTO items (job_id, name, payload, state) VALUES (?, 'i', ?, 'pending')",
            )
            .bind(job)
            .bind(payload)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let store = docket_store::sqlite::SqliteStore::connect(&url)
        .await
        .unwrap();
    assert_eq!(store.backend(), "sqlite");
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM items ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let typed: Vec<ItemPayload> = payloads
        .iter()
        .map(|p| ItemPayload::from_stored(p))
        .collect();
    assert_eq!(typed, expected_payloads(), "stored: {payloads:?}");
    let sources: Vec<(String, String)> =
        sqlx::query_as("SELECT id, source FROM jobs WHERE source IS NOT NULL ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let typed: Vec<(String, JobSource)> = sources
        .into_iter()
        .map(|(id, s)| (id, JobSource::from_stored(Some(&s))))
        .collect();
    assert_eq!(typed, expected_sources());
}

#[tokio::test]
async fn postgres_rows_of_the_old_shape_are_migrated() {
    let url = docket_store::testing::fresh_postgres_url().await;
    {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        before_0007(sqlx::migrate!("./migrations/postgres"))
            .run(&pool)
            .await
            .unwrap();
        for (id, kind, source) in OLD_JOBS {
            sqlx::query(&format!("{JOB_INSERT} $3::jsonb)"))
                .bind(id)
                .bind(kind)
                .bind(source)
                .execute(&pool)
                .await
                .unwrap();
        }
        for (job, payload) in OLD_ITEMS {
            sqlx::query(
                "INSERT INTO items (job_id, name, payload, state) VALUES ($1, 'i', $2::jsonb, 'pending')",
            )
            .bind(job)
            .bind(payload)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let store = docket_store::postgres::PgStore::connect(&url)
        .await
        .unwrap();
    assert_eq!(store.backend(), "postgres");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload::text FROM items ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let typed: Vec<ItemPayload> = payloads
        .iter()
        .map(|p| ItemPayload::from_stored(p))
        .collect();
    assert_eq!(typed, expected_payloads(), "stored: {payloads:?}");
    let sources: Vec<(String, String)> =
        sqlx::query_as("SELECT id, source::text FROM jobs WHERE source IS NOT NULL ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let typed: Vec<(String, JobSource)> = sources
        .into_iter()
        .map(|(id, s)| (id, JobSource::from_stored(Some(&s))))
        .collect();
    assert_eq!(typed, expected_sources());
}
