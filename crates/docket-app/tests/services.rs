//! The application services on real stores (SQLite and PostgreSQL) and a real blob directory.
//! The blob store's fault is real too: an upload made immutable (`chattr +i`) cannot be
//! removed, even by root, until the flag is cleared.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use docket_app::{run_deletions, Deletion, NoopSpec, ServiceError, Submission};
use docket_blobs::Blobs;
use docket_core::{blob_keys, now_millis, ErrorCode, ItemPayload, JobOptions};
use docket_store::Store;

struct Setup {
    store: Arc<dyn Store>,
    blobs: Blobs,
    blob_dir: tempfile::TempDir,
    _db: Option<tempfile::TempDir>,
}

async fn sqlite() -> Setup {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("d.db").display());
    let store: Arc<dyn Store> = Arc::new(
        docket_store::sqlite::SqliteStore::connect(&url)
            .await
            .unwrap(),
    );
    with_blobs(store, Some(db))
}

async fn postgres() -> Setup {
    let url = docket_store::testing::fresh_postgres_url().await;
    let store: Arc<dyn Store> = Arc::new(
        docket_store::postgres::PgStore::connect(&url)
            .await
            .unwrap(),
    );
    with_blobs(store, None)
}

fn with_blobs(store: Arc<dyn Store>, db: Option<tempfile::TempDir>) -> Setup {
    let blob_dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::open(blob_dir.path().to_str().unwrap()).unwrap();
    Setup {
        store,
        blobs,
        blob_dir,
        _db: db,
    }
}

impl Setup {
    fn submission(&self) -> Submission {
        Submission::new(
            self.store.clone(),
            self.blobs.clone(),
            Arc::new(vec![self.blob_dir.path().canonicalize().unwrap()]),
            docket_app::UploadLimits::uniform(1024),
        )
    }

    fn upload_dir(&self, job: &str) -> PathBuf {
        self.blob_dir.path().join(blob_keys::upload_prefix(job))
    }
}

fn body(text: &'static str) -> futures::stream::Iter<std::vec::IntoIter<Result<Bytes, String>>> {
    futures::stream::iter(vec![Ok(Bytes::from_static(text.as_bytes()))])
}

/// Waits until `cond` holds, failing after a deadline.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn chattr(flag: &str, path: &Path) {
    let status = std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .expect("chattr runs");
    assert!(status.success(), "chattr {flag} {}", path.display());
}

async fn an_upload_becomes_a_job_of_typed_items(s: Setup) {
    let mut upload = s.submission().upload("u").await.unwrap();
    upload
        .add_file("a.txt".into(), body("hello"))
        .await
        .unwrap();
    upload
        .add_file("b.txt".into(), body("world!"))
        .await
        .unwrap();
    let id = upload.job_id().to_owned();
    let created = upload.finish(JobOptions::default(), None).await.unwrap();
    assert!(created.created);
    assert_eq!(created.job.id, id);
    let claimed = s
        .store
        .claim(
            "w",
            docket_core::JobKind::ALL,
            10,
            now_millis() + 60_000,
            now_millis(),
        )
        .await
        .unwrap();
    let payloads: Vec<ItemPayload> = claimed.into_iter().map(|c| c.payload).collect();
    // Small files share the upload's pack, each a range of it.
    let pack = blob_keys::upload_pack(&id);
    assert!(
        matches!(&payloads[0], ItemPayload::PackedUpload { blob, offset: 0, size: 5, .. } if *blob == pack)
    );
    assert!(matches!(
        &payloads[1],
        ItemPayload::PackedUpload {
            offset: 5,
            size: 6,
            ..
        }
    ));
    assert_eq!(s.blobs.get_range(&pack, 5, 6).await.unwrap(), "world!");
    assert_eq!(
        std::fs::read(s.blob_dir.path().join(&pack)).unwrap(),
        b"helloworld!"
    );
}

async fn a_failed_or_abandoned_upload_leaves_no_files(s: Setup) {
    let mut upload = s.submission().upload("u").await.unwrap();
    upload
        .add_file("a.txt".into(), body("hello"))
        .await
        .unwrap();
    let dropped = upload.job_id().to_owned();
    let dir = s.upload_dir(&dropped);
    assert!(dir.exists(), "the pack is being written");
    drop(upload);
    until("the dropped upload's files are removed", || {
        std::fs::read_dir(&dir).map_or(true, |mut entries| entries.next().is_none())
    })
    .await;

    let mut upload = s.submission().upload("u").await.unwrap();
    upload
        .add_file("a.txt".into(), body("hello"))
        .await
        .unwrap();
    let refused = upload.job_id().to_owned();
    let bad = JobOptions {
        max_workers: Some(0),
        ..JobOptions::default()
    };
    assert!(matches!(
        upload.finish(bad, None).await,
        Err(ServiceError::Store(_))
    ));
    let dir = s.upload_dir(&refused);
    assert!(
        std::fs::read_dir(&dir).map_or(true, |mut entries| entries.next().is_none()),
        "a refused upload left files in {dir:?}"
    );

    let mut upload = s.submission().upload("u").await.unwrap();
    let too_big = upload
        .add_file(
            "big".into(),
            futures::stream::iter(vec![Ok::<_, String>(Bytes::from(vec![0u8; 2048]))]),
        )
        .await;
    // Over the per-file limit: refused by name, and with the limit named.
    assert!(matches!(
        &too_big,
        Err(ServiceError::Refused { code: ErrorCode::PayloadTooLarge, detail })
            if detail.contains("`big` exceeds the per-file limit of 1024 bytes")
    ));
    let empty = upload.finish(JobOptions::default(), None).await;
    assert!(matches!(
        empty,
        Err(ServiceError::Refused {
            code: ErrorCode::EmptyUpload,
            ..
        })
    ));
}

async fn the_same_idempotency_key_answers_the_first_job(s: Setup) {
    let spec = NoopSpec {
        count: Some(3),
        sleep_ms: Some(1),
    };
    let first = s
        .submission()
        .noop("u", spec, JobOptions::default(), Some("k".into()))
        .await
        .unwrap();
    let mut upload = s.submission().upload("u").await.unwrap();
    upload
        .add_file("a.txt".into(), body("hello"))
        .await
        .unwrap();
    let lost = upload.job_id().to_owned();
    let second = upload
        .finish(JobOptions::default(), Some("k".into()))
        .await
        .unwrap();
    assert!(!second.created);
    assert_eq!(second.job.id, first.job.id);
    assert!(
        !s.upload_dir(&lost).join("pack").exists(),
        "the losing upload is removed"
    );
    let replayed = s.submission().replay("u", "k").await.unwrap().unwrap();
    assert_eq!(replayed.id, first.job.id);
    let refused = s
        .submission()
        .noop(
            "u",
            NoopSpec {
                count: Some(0),
                sleep_ms: None,
            },
            JobOptions::default(),
            None,
        )
        .await;
    assert!(matches!(
        refused,
        Err(ServiceError::Refused {
            code: ErrorCode::InvalidRequest,
            ..
        })
    ));
}

async fn deletion_hides_at_once_and_removes_files_then_rows_retrying_failures(s: Setup) {
    let mut upload = s.submission().upload("u").await.unwrap();
    upload
        .add_file("a.txt".into(), body("hello"))
        .await
        .unwrap();
    let id = upload
        .finish(JobOptions::default(), None)
        .await
        .unwrap()
        .job
        .id;
    let deletion = Deletion::new(s.store.clone(), s.blobs.clone());
    assert!(
        matches!(
            deletion.delete(&id).await,
            Err(ServiceError::Refused {
                code: ErrorCode::Conflict,
                ..
            })
        ),
        "an unfinished job is not deleted"
    );
    s.store.cancel_job(&id, now_millis()).await.unwrap();
    let file = s.upload_dir(&id).join("pack");
    chattr("+i", &file);
    // `delete` also starts a pass in the background; it fails on the immutable file too.
    deletion.delete(&id).await.unwrap();
    assert!(
        s.store.get_job(&id, now_millis()).await.unwrap().is_none(),
        "gone from reads at once"
    );
    let now = now_millis();
    run_deletions(s.store.as_ref(), &s.blobs, now)
        .await
        .unwrap();
    let start = Instant::now();
    let failures = loop {
        match s.store.deletion_state(&id).await.unwrap() {
            Some((n, Some(error))) if n >= 1 => break (n, error),
            state => {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "no failure recorded: {state:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert!(file.exists(), "the file could not be removed: {failures:?}");
    chattr("-i", &file);
    // Not before the backoff has passed; then the file and the rows go.
    let later = now + 20 * 60 * 1000;
    let removed = run_deletions(s.store.as_ref(), &s.blobs, later)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(!file.exists());
    assert_eq!(
        s.store.deletion_state(&id).await.unwrap(),
        None,
        "the rows are gone"
    );
}

macro_rules! both_backends {
    ($($case:ident),+ $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::sqlite().await).await;
                }
            )+
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::postgres().await).await;
                }
            )+
        }
    };
}

both_backends!(
    an_upload_becomes_a_job_of_typed_items,
    a_failed_or_abandoned_upload_leaves_no_files,
    the_same_idempotency_key_answers_the_first_job,
    deletion_hides_at_once_and_removes_files_then_rows_retrying_failures,
);
