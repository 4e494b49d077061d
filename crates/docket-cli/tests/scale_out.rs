//! Scale-out on PostgreSQL with real processes: one API process without workers, three
//! `docket worker` processes sharing the database and the blob directory. Mid-job one worker
//! is SIGKILLed, another SIGTERMed, and PostgreSQL itself is restarted; the job still ends
//! `completed` with exactly one result per item.

mod support;

#[path = "support/private_pg.rs"]
mod private_pg;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::Server;

const ITEMS: i64 = 5_000;

fn worker(url: &str, blobs: &str, log: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log");
    Command::new(env!("CARGO_BIN_EXE_docket"))
        .arg("worker")
        .env("DOCKET_DATABASE_URL", url)
        .env("DOCKET_BLOBS", blobs)
        .env("DOCKET_WORKERS", "6")
        .env("DOCKET_LEASE_SECONDS", "2")
        .env("DOCKET_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start docket worker")
}

/// Polls through the API, tolerating the moments when the database is restarting.
async fn wait(
    server: &Server,
    id: &str,
    within: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    let mut last = Value::Null;
    loop {
        if let Ok(r) = server.get(&format!("/v1/jobs/{id}")).send().await {
            if r.status() == 200 {
                if let Ok(job) = r.json::<Value>().await {
                    if done(&job) {
                        return job;
                    }
                    last = job;
                }
            }
        }
        assert!(
            start.elapsed() < within,
            "timed out waiting for {what}: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn succeeded(j: &Value) -> i64 {
    j["counts"]["succeeded"].as_i64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_survive_kill_term_and_a_database_restart() {
    let pg = private_pg::PrivatePg::start();
    let url = pg.url();
    let shared = tempfile::tempdir().expect("shared blob dir");
    let blobs = shared.path().display().to_string();
    let server = Server::start(&[
        ("DOCKET_DATABASE_URL", url.clone()),
        ("DOCKET_BLOBS", blobs.clone()),
        ("DOCKET_WORKERS", "0".into()),
    ]);
    let log = server.path().join("workers.log");
    let mut workers: Vec<Child> = (0..3).map(|_| worker(&url, &blobs, &log)).collect();

    let job = server
        .submit_noop(ITEMS as u64, 20, json!({"max_retries": 10}))
        .await;
    let id = job["id"].as_str().unwrap().to_string();

    wait(&server, &id, Duration::from_secs(120), "1,000 done", |j| {
        succeeded(j) >= 1_000
    })
    .await;
    workers[0].kill().expect("SIGKILL worker 0");
    workers[0].wait().expect("reap worker 0");

    wait(&server, &id, Duration::from_secs(120), "2,000 done", |j| {
        succeeded(j) >= 2_000
    })
    .await;
    let status = Command::new("kill")
        .args(["-TERM", &workers[1].id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exited = workers[1].wait().expect("worker 1 exits");
    assert!(
        exited.success(),
        "a SIGTERMed worker stops gracefully: {exited}"
    );

    let before = wait(&server, &id, Duration::from_secs(120), "3,000 done", |j| {
        succeeded(j) >= 3_000
    })
    .await;
    assert!(succeeded(&before) < ITEMS, "the restart happens mid-job");
    pg.restart();

    let done = wait(&server, &id, Duration::from_secs(240), "completed", |j| {
        j["state"] == "completed"
    })
    .await;
    for w in workers.iter_mut().skip(2) {
        let _ = Command::new("kill")
            .args(["-TERM", &w.id().to_string()])
            .status();
        let _ = w.wait();
    }
    assert_eq!(succeeded(&done), ITEMS, "{done}");
    assert_eq!(done["counts"]["failed"], 0, "{done}");
    let results = server.results(&id).await;
    let ids: HashSet<String> = results
        .iter()
        .map(|r| r["item_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        (results.len() as i64, ids.len() as i64),
        (ITEMS, ITEMS),
        "exactly one result per item"
    );
}
