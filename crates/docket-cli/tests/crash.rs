//! Crash safety with a real process: a `docket worker` is SIGKILLed three times at random
//! moments mid-job and restarted; the job still ends `completed` with exactly one document per
//! item and one search-index entry per document. (Results are keyed by item, so they cannot
//! repeat; documents and index entries are written by the handler and by triggers, and could.)

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use docket_core::{now_millis, JobKind, JobOptions, JobState};
use docket_store::prelude::*;
use docket_store::{ItemQuery, NewItem, NewJob, SearchQuery};
use rand::Rng;

const ITEMS: usize = 2_000;

/// The word every document shares, and one only document `i` has (letters only, so both
/// search dialects read it as one word).
const SHARED_WORD: &str = "sharedcrashtext";

fn own_word(i: usize) -> String {
    let letters: String = format!("{i:05}")
        .bytes()
        .map(|d| char::from(b'a' + (d - b'0')))
        .collect();
    format!("crashdoc{letters}")
}

fn spawn_worker(database_url: &str, log: &Path) -> Child {
    let dir = log.parent().expect("the log's directory");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    Command::new(env!("CARGO_BIN_EXE_docket"))
        .arg("worker")
        .current_dir(dir)
        .env("DOCKET_DATABASE_URL", database_url)
        .env("DOCKET_BLOBS", dir.join("blobs"))
        .env("DOCKET_DATA_DIR", dir.join("data"))
        .env("DOCKET_WORKERS", "8")
        .env("DOCKET_LEASE_SECONDS", "2")
        .env("DOCKET_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start docket worker")
}

async fn job(store: &Arc<dyn Store>, id: &str) -> docket_core::Job {
    store
        .get_job(id, now_millis())
        .await
        .expect("read job")
        .expect("job exists")
}

async fn wait_until(
    store: &Arc<dyn Store>,
    id: &str,
    within: Duration,
    what: &str,
    ok: impl Fn(&docket_core::Job) -> bool,
) -> docket_core::Job {
    let start = Instant::now();
    loop {
        let j = job(store, id).await;
        if ok(&j) {
            return j;
        }
        assert!(
            start.elapsed() < within,
            "timed out waiting for {what}: {:?} {:?}",
            j.state,
            j.counts
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn killed_three_times_still_exactly_one_document_per_item(
    url: &str,
    store: Arc<dyn Store>,
    log: &Path,
) {
    let files = log.parent().expect("the log's directory").join("files");
    std::fs::create_dir_all(&files).expect("files dir");
    let new = NewJob {
        id: None,
        source: None,
        user: "crash".into(),
        kind: JobKind::Process,
        options: JobOptions {
            max_retries: 10,
            ..JobOptions::default()
        },
        idempotency_key: None,
        items: (0..ITEMS)
            .map(|i| {
                let path = files.join(format!("doc-{i:05}.txt"));
                std::fs::write(&path, format!("{SHARED_WORD} {} letter\n", own_word(i)))
                    .expect("write a file");
                NewItem {
                    name: format!("doc-{i:05}.txt"),
                    payload: docket_core::ItemPayload::ServerFile { path },
                }
            })
            .collect(),
    };
    let id = store
        .create_job(new, now_millis())
        .await
        .expect("create job")
        .job
        .id;

    let mut rng = rand::thread_rng();
    let mut worker = spawn_worker(url, log);
    for round in 0..3 {
        // A random moment in this round's share of the job.
        let target = (round * 500 + rng.gen_range(100..450)) as i64;
        let before = wait_until(
            &store,
            &id,
            Duration::from_secs(60),
            "progress before the kill",
            |j| j.counts.succeeded >= target,
        )
        .await;
        worker.kill().expect("SIGKILL the worker");
        worker.wait().expect("reap the worker");
        assert!(before.counts.succeeded < ITEMS as i64, "killed mid-job");
        eprintln!("round {round}: killed at {:?}", before.counts);
        worker = spawn_worker(url, log);
    }
    let done = wait_until(&store, &id, Duration::from_secs(120), "completed", |j| {
        j.state.is_finished()
    })
    .await;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(worker.id().to_string())
        .status();
    let _ = worker.wait();

    assert_eq!(done.state, JobState::Completed, "{:?}", done.counts);
    assert_eq!(done.counts.succeeded, ITEMS as i64, "{:?}", done.counts);
    // Every item names its own document…
    let mut documents = HashSet::new();
    let mut after = 0;
    loop {
        let page = store.results(&id, after, 1000).await.expect("results");
        let Some(last) = page.last() else { break };
        after = last.item_id;
        for r in page {
            let document = r.output["document_id"]
                .as_str()
                .expect("a document")
                .to_owned();
            assert!(documents.insert(document), "two items share a document");
        }
    }
    assert_eq!(documents.len(), ITEMS, "one document per item");
    // …and no attempt left another document behind.
    let mut stored = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .document_ids("crash", cursor.as_deref(), 1000)
            .await
            .expect("documents");
        let Some(last) = page.last().cloned() else {
            break;
        };
        stored.extend(page);
        cursor = Some(last);
    }
    assert_eq!(stored, documents, "exactly the items' documents are stored");
    // The search index holds each document once.
    let search = |q: String| {
        let store = store.clone();
        let id = id.clone();
        async move {
            store
                .search(&SearchQuery {
                    user: "crash".into(),
                    q,
                    category: None,
                    job_id: Some(id),
                    limit: 1,
                    offset: 0,
                })
                .await
                .expect("search")
                .total
        }
    };
    assert_eq!(
        search(SHARED_WORD.into()).await,
        ITEMS as i64,
        "one index entry per document"
    );
    // The kills really hit items in flight: some were taken over after their lease expired.
    let mut taken_over = 0;
    let mut cursor = None;
    loop {
        let page = store
            .list_items(
                &id,
                &ItemQuery {
                    limit: 1000,
                    after: cursor,
                    ..Default::default()
                },
            )
            .await
            .expect("items");
        taken_over += page
            .items
            .iter()
            .filter(|i| i.errors.iter().any(|e| e.message.contains("lease")))
            .count();
        match page.next_cursor {
            Some(c) => cursor = Some(c.parse().expect("cursor")),
            None => break,
        }
    }
    assert!(taken_over > 0, "no item was in flight at any kill");
    eprintln!("{taken_over} items were taken over after a kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_worker_survives_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/docket.db", dir.path().display());
    let store = docket_store::connect(&url).await.expect("open store");
    killed_three_times_still_exactly_one_document_per_item(
        &url,
        store,
        &dir.path().join("worker.log"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_worker_survives_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = docket_store::testing::fresh_postgres_url().await;
    let store = docket_store::connect(&url).await.expect("open store");
    killed_three_times_still_exactly_one_document_per_item(
        &url,
        store,
        &dir.path().join("worker.log"),
    )
    .await;
}
