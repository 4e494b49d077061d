//! The `process` handler on a real engine and store (every case on SQLite and on PostgreSQL), extracting through a pool of
//! extractor child processes (this crate's test extractor, the same loop as `docket extractor`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use docket_blobs::Blobs;
use docket_core::{blob_keys, Item, ItemPayload, JobKind, JobOptions};
use docket_engine::{Engine, EngineConfig};
use docket_pipeline::{ExtractorPool, PoolConfig, ProcessHandler, ProcessLimits};
use docket_store::prelude::*;
use docket_store::{ItemQuery, NewItem, NewJob};
use serde_json::json;
use tokio_util::sync::CancellationToken;

struct Setup {
    store: Arc<dyn Store>,
    blobs: Blobs,
    dir: tempfile::TempDir,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Setup {
    async fn start(store: Arc<dyn Store>) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = Blobs::open(&dir.path().join("blobs").display().to_string()).expect("blobs");
        let mut pool =
            PoolConfig::new(env!("CARGO_BIN_EXE_docket-pipeline-test-extractor"), vec![]);
        pool.size = 2;
        let handler = ProcessHandler::new(
            store.clone(),
            blobs.clone(),
            ProcessLimits::default(),
            ExtractorPool::new(pool),
        );
        let config = EngineConfig {
            workers: 2,
            idle_poll: Duration::from_millis(20),
            control_every: Duration::from_millis(50),
            flush_every: Duration::from_millis(5),
            retention: None,
            shutdown_grace: Duration::from_secs(5),
            ..EngineConfig::default()
        };
        let engine =
            Engine::new(store.clone(), config).with_handler(JobKind::Process, Arc::new(handler));
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move { engine.run(token).await.expect("engine runs") });
        Setup {
            store,
            blobs,
            dir,
            shutdown,
            task,
        }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> NewItem {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("write input");
        NewItem {
            name: name.to_owned(),
            payload: ItemPayload::ServerFile { path: path.clone() },
        }
    }

    /// Submits `items` as one job and waits until it finishes; returns its items.
    async fn run(&self, items: Vec<NewItem>, options: JobOptions) -> Vec<Item> {
        let job = self
            .store
            .create_job(
                NewJob {
                    id: None,
                    user: "u".into(),
                    kind: JobKind::Process,
                    options,
                    idempotency_key: None,
                    items,
                    source: None,
                },
                docket_core::now_millis(),
            )
            .await
            .expect("create job")
            .job;
        let started = Instant::now();
        loop {
            let now = docket_core::now_millis();
            let j = self.store.get_job(&job.id, now).await.unwrap().unwrap();
            if j.state.is_finished() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(180), "{j:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let query = ItemQuery {
            state: None,
            limit: 100,
            after: None,
        };
        self.store.list_items(&job.id, &query).await.unwrap().items
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(20), self.task).await;
    }
}

fn item<'a>(items: &'a [Item], name: &str) -> &'a Item {
    items.iter().find(|i| i.name == name).expect("item")
}

/// A man page typeset to PDF by groff (see ensure_system_packages in scripts/lib.sh).
fn man_pdf(page: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docket-pipeline");
    std::fs::create_dir_all(&dir).expect("cache dir");
    let path = dir.join(format!("man-{page}.pdf"));
    if !path.exists() {
        let tmp = dir.join(format!(".{page}.{}", std::process::id()));
        let script = format!(
            "zcat /usr/share/man/man1/{page}.1.gz | groff -man -Tpdf -P-pletter > {}",
            tmp.display()
        );
        let ok = Command::new("sh")
            .args(["-c", &script])
            .stderr(Stdio::null())
            .status()
            .expect("groff");
        assert!(ok.success(), "groff failed");
        std::fs::rename(&tmp, &path).expect("rename");
    }
    path
}

/// Page 1 of a man page as a 100 dpi PNG.
fn scan(page: &str) -> Vec<u8> {
    let pdf = man_pdf(page);
    let root = pdf.with_extension(format!("scan{}", std::process::id()));
    let ok = Command::new("pdftoppm")
        .args(["-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&root)
        .status()
        .expect("pdftoppm");
    assert!(ok.success());
    let png = root.with_extension(format!("scan{}.png", std::process::id()));
    let bytes = std::fs::read(&png).expect("scan");
    let _ = std::fs::remove_file(png);
    bytes
}

async fn documents_originals_and_thumbnails_are_stored(store: Arc<dyn Store>) {
    let setup = Setup::start(store).await;
    let pdf = std::fs::read(man_pdf("grep")).expect("pdf");
    let items = vec![
        setup.file("grep.pdf", &pdf),
        setup.file("notes.txt", b"Budget notes: the quokka fund.\n"),
        setup.file("empty.txt", b""),
    ];
    let items = setup.run(items, JobOptions::default()).await;

    let grep = item(&items, "grep.pdf");
    assert_eq!(grep.state, docket_core::ItemState::Succeeded, "{grep:?}");
    assert_eq!(grep.progress, 100.0);
    let doc = setup
        .store
        .get_document(grep.document_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(doc.pages, 9);
    assert!(doc.text.contains("print lines that match patterns"));
    assert_eq!(
        setup
            .blobs
            .get(&blob_keys::file(&doc.sha256))
            .await
            .unwrap()
            .as_ref(),
        pdf.as_slice()
    );
    let png = setup
        .blobs
        .get(&blob_keys::thumbnail(&doc.sha256))
        .await
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    let notes = item(&items, "notes.txt");
    let doc = setup
        .store
        .get_document(notes.document_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(setup
        .blobs
        .size(&blob_keys::file(&doc.sha256))
        .await
        .is_ok());
    assert!(setup
        .blobs
        .size(&blob_keys::thumbnail(&doc.sha256))
        .await
        .is_err());

    let empty = item(&items, "empty.txt");
    assert_eq!(empty.state, docket_core::ItemState::Failed);
    assert_eq!(empty.errors[0].message, "empty file");
    assert!(!empty.errors[0].transient);
    setup.stop().await;
}

async fn ocr_languages_come_from_the_job_options(store: Arc<dyn Store>) {
    let setup = Setup::start(store).await;
    let png = scan("grep");
    // A well-formed name of a language this host lacks (the API refuses it at submit; a job
    // can still meet it, on a worker whose languages differ from the API's).
    let options: JobOptions =
        JobOptions::from_json(&json!({"ocr": {"languages": ["nosuch"]}})).unwrap();
    let items = setup.run(vec![setup.file("scan.png", &png)], options).await;
    let scan = item(&items, "scan.png");
    assert_eq!(scan.state, docket_core::ItemState::Failed, "{scan:?}");
    assert!(
        scan.errors[0].message.contains("nosuch"),
        "{}",
        scan.errors[0].message
    );

    let items = setup
        .run(vec![setup.file("scan.png", &png)], JobOptions::default())
        .await;
    let scan = item(&items, "scan.png");
    assert_eq!(scan.state, docket_core::ItemState::Succeeded, "{scan:?}");
    setup.stop().await;
}

async fn a_hung_parser_is_killed_within_the_item_timeout(store: Arc<dyn Store>) {
    let setup = Setup::start(store).await;
    let options = JobOptions::from_json(&json!({"item_timeout_seconds": 2})).unwrap();
    let started = Instant::now();
    let items = setup
        .run(
            vec![
                setup.file("hang", b"plain text"),
                setup.file("ok.txt", b"fine"),
            ],
            options,
        )
        .await;
    let hung = item(&items, "hang");
    assert_eq!(hung.state, docket_core::ItemState::Failed, "{hung:?}");
    assert_eq!(hung.attempts, 1);
    // The pool stopped it, with its own message, before the engine's timeout.
    assert!(
        hung.errors[0]
            .message
            .starts_with("the parser was stopped after"),
        "{}",
        hung.errors[0].message
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        item(&items, "ok.txt").state,
        docket_core::ItemState::Succeeded
    );
    setup.stop().await;
}

/// One test per backend for each case: SQLite in a fresh file, PostgreSQL in a fresh database
/// on `DOCKET_TEST_POSTGRES_URL` (which fails the test, never skips it, when unreachable).
macro_rules! on_both_backends {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(docket_store::testing::fresh_sqlite().await.0).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(docket_store::testing::fresh_postgres().await).await;
                }
            )+
        }
    };
}

on_both_backends!(
    documents_originals_and_thumbnails_are_stored,
    ocr_languages_come_from_the_job_options,
    a_hung_parser_is_killed_within_the_item_timeout,
);
