//! Schedules over real HTTP and the CLI, on both backends: checked at the door naming the
//! field, a nightly-style folder schedule that processes only new files (the job reports how
//! many it reused), pause and resume, and — on PostgreSQL — a `serve` and a `worker` racing
//! for every tick of a per-second schedule with exactly one job per tick. The tick logic itself
//! is tested with a clock the test moves in docket-app's `tests/schedules.rs`.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{assert_problem, on_both_backends, Backend, Server};

fn cli(server: &Server, args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docket"))
        .args(args)
        .arg("--json")
        .current_dir(server.path())
        .env("DOCKET_SERVER", &server.url)
        .env("DOCKET_TOKEN", &server.token)
        .output()
        .expect("run docket");
    assert!(
        out.status.success(),
        "docket {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

async fn schedule(server: &Server, id: &str) -> Value {
    let r = server
        .get(&format!("/v1/schedules/{id}"))
        .send()
        .await
        .expect("GET schedule");
    assert_eq!(r.status(), 200);
    r.json().await.expect("schedule")
}

/// Waits until the schedule satisfies `done`.
async fn until_schedule(
    server: &Server,
    id: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let s = schedule(server, id).await;
        if done(&s) {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn run_jobs(s: &Value) -> Vec<String> {
    s["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["job_id"].as_str().map(str::to_owned))
        .collect()
}

fn finished(j: &Value) -> bool {
    matches!(
        j["state"].as_str(),
        Some("completed" | "failed" | "cancelled")
    )
}

async fn schedules_at_the_door_and_a_folder_that_grows(backend: Backend) {
    let roots = tempfile::tempdir().unwrap();
    let root = roots.path().canonicalize().unwrap();
    let drop = root.join("drop");
    std::fs::create_dir(&drop).unwrap();
    std::fs::write(drop.join("one.txt"), "the first scanned letter").unwrap();
    std::fs::write(drop.join("two.txt"), "the second scanned letter").unwrap();
    let server = Server::start_on(
        backend,
        &[("DOCKET_ALLOWED_ROOTS", root.display().to_string())],
    )
    .await;

    // Refused at the door, naming the field.
    for (body, status, code, field) in [
        (
            json!({"cron": "0 25 * * *", "job": {"kind": "noop", "source": {"count": 1}}}),
            400,
            "invalid_schedule",
            "`cron`",
        ),
        (
            json!({"cron": "@daily", "timezone": "Europe/Atlantis", "job": {"kind": "noop", "source": {"count": 1}}}),
            400,
            "invalid_schedule",
            "`timezone`",
        ),
        (
            json!({"cron": "@daily", "job": {"kind": "process", "source": {"uploads": ["upl_x"]}}}),
            400,
            "invalid_request",
            "uploads",
        ),
        (
            json!({"cron": "@daily", "job": {"kind": "publish", "source": {}}}),
            400,
            "invalid_schedule",
            "`job.kind`",
        ),
        (
            json!({"cron": "@daily", "job": {"kind": "process", "source": {"path": "/etc"}}}),
            403,
            "path_not_allowed",
            "`job.source.path`",
        ),
        (
            json!({"cron": "@daily", "job": {"kind": "noop", "source": {"count": 1}, "options": {"ocr": {"languages": ["klingon"]}}}}),
            400,
            "invalid_options",
            "klingon",
        ),
        (
            json!({"job": {"kind": "noop", "source": {"count": 1}}}),
            400,
            "invalid_request",
            "cron",
        ),
    ] {
        let r = server
            .post("/v1/schedules")
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(r, status, code).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{body}: {problem}"
        );
    }

    // Every second, so the test need not wait for a night.
    let s = cli(
        &server,
        &[
            "schedules",
            "add",
            "--cron",
            "* * * * * *",
            "--timezone",
            "Europe/Paris",
            drop.to_str().unwrap(),
        ],
    );
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(s["enabled"], true);
    assert_eq!(s["job"]["source"]["path"], drop.display().to_string());
    assert!(s["next_run_at"].is_string());
    let s = until_schedule(&server, &id, "a first run", |s| !run_jobs(s).is_empty()).await;
    let paused = cli(&server, &["schedules", "pause", &id]);
    assert_eq!(paused["enabled"], false);
    assert!(paused["next_run_at"].is_null());
    let before_pause = run_jobs(&schedule(&server, &id).await);
    // The first job found both files new.
    let first = run_jobs(&s).last().unwrap().clone();
    let first = server
        .wait(&first, Duration::from_secs(60), "the first job", finished)
        .await;
    assert_eq!(first["state"], "completed", "{first}");
    assert_eq!(first["counts"]["succeeded"], 2, "{first}");
    assert_eq!(first["counts"]["reused"], 0, "{first}");
    for job in &before_pause {
        server
            .wait(
                job,
                Duration::from_secs(60),
                "the jobs before the pause",
                finished,
            )
            .await;
    }
    // Paused: no tick runs.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        run_jobs(&schedule(&server, &id).await),
        before_pause,
        "a paused schedule made a job"
    );

    // A new file arrives; resumed, the next job processes only it and reuses the rest.
    std::fs::write(drop.join("three.txt"), "a third scanned letter").unwrap();
    let resumed = cli(&server, &["schedules", "resume", &id]);
    assert_eq!(resumed["enabled"], true);
    let s = until_schedule(&server, &id, "a run after resuming", |s| {
        run_jobs(s).len() > before_pause.len()
    })
    .await;
    cli(&server, &["schedules", "pause", &id]);
    let after = run_jobs(&s);
    let next = &after[after.len() - before_pause.len() - 1];
    let next = server
        .wait(
            next,
            Duration::from_secs(60),
            "the job after resuming",
            finished,
        )
        .await;
    assert_eq!(next["counts"]["succeeded"], 3, "{next}");
    assert!(
        next["counts"]["reused"].as_i64().unwrap() >= 2,
        "the old files are reused: {next}"
    );

    // The CLI lists and shows it with its runs; another user sees nothing; rm deletes it.
    let listed = cli(&server, &["schedules", "ls"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let shown = cli(&server, &["schedules", "show", &id]);
    assert!(!shown["runs"].as_array().unwrap().is_empty());
    assert!(shown["last_run_at"].is_string());
    let other = server.token_for("someone");
    let r = server
        .http
        .get(format!("{}/v1/schedules/{id}", server.url))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    cli(&server, &["schedules", "rm", &id]);
    let r = server
        .get(&format!("/v1/schedules/{id}"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    // The jobs it made stay.
    server.job(first["id"].as_str().unwrap()).await;
}

on_both_backends!(schedules_at_the_door_and_a_folder_that_grows);

fn worker(url: &str, blobs: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_docket"))
        .arg("worker")
        .env("DOCKET_DATABASE_URL", url)
        .env("DOCKET_BLOBS", blobs)
        .env("DOCKET_WORKERS", "2")
        .env("DOCKET_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docket worker")
}

/// A `serve` and two `worker`s on one PostgreSQL database all run the scheduler: every tick of
/// a per-second schedule makes exactly one job, and every job belongs to one tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_racing_for_each_tick_make_one_job_each() {
    let url = Backend::Postgres.fresh_database().await.unwrap();
    let shared = tempfile::tempdir().unwrap();
    let blobs = shared.path().display().to_string();
    let server = Server::start(&[
        ("DOCKET_DATABASE_URL", url.clone()),
        ("DOCKET_BLOBS", blobs.clone()),
    ]);
    let mut workers: Vec<Child> = (0..2).map(|_| worker(&url, &blobs)).collect();
    let r = server
        .post("/v1/schedules")
        .json(&json!({"cron": "* * * * * *", "job": {"kind": "noop", "source": {"count": 1}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let s: Value = r.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    until_schedule(&server, &id, "eight runs", |s| run_jobs(s).len() >= 8).await;
    let r = server
        .http
        .patch(format!("{}/v1/schedules/{id}", server.url))
        .bearer_auth(&server.token)
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    let s = schedule(&server, &id).await;
    let runs = s["runs"].as_array().unwrap();
    let mut ticks: Vec<&str> = runs.iter().map(|r| r["tick"].as_str().unwrap()).collect();
    ticks.dedup();
    assert_eq!(ticks.len(), runs.len(), "a tick ran twice: {s}");
    let mut jobs = run_jobs(&s);
    assert_eq!(jobs.len(), runs.len(), "a tick made no job: {s}");
    jobs.sort();
    jobs.dedup();
    assert_eq!(jobs.len(), runs.len(), "two ticks share a job: {s}");
    // No job was made outside the recorded ticks.
    let page: Value = server
        .get("/v1/jobs?kind=noop&limit=200")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        runs.len(),
        "{page}"
    );
}
