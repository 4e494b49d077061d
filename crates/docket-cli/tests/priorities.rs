//! Priorities and later jobs over real HTTP and the CLI: `PATCH /v1/jobs/{id}`,
//! `docket jobs priority|workers`, `options.not_before`. The sharing itself is tested against
//! the real engine on both backends in docket-engine's suite.

mod support;

use std::time::Duration;

use docket_core::{now_millis, rfc3339};
use serde_json::{json, Value};
use support::{on_both_backends, Backend, Server};

async fn patch(server: &Server, id: &str, body: Value) -> (u16, Value) {
    let r = server
        .http
        .patch(format!("{}/v1/jobs/{id}", server.url))
        .bearer_auth(&server.token)
        .json(&body)
        .send()
        .await
        .expect("PATCH job");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json answer"))
}

/// `POST /v1/jobs/{id}/{action}`; the job it answers.
async fn control(server: &Server, id: &str, action: &str) -> Value {
    let r = server
        .post(&format!("/v1/jobs/{id}/{action}"))
        .send()
        .await
        .expect("control");
    assert_eq!(r.status(), 200, "{action}");
    r.json().await.expect("job")
}

fn cli(server: &Server, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_docket"))
        .args(args)
        .current_dir(server.path())
        .env("DOCKET_SERVER", &server.url)
        .env("DOCKET_TOKEN", &server.token)
        .output()
        .expect("run docket");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn priority_and_cap_change_on_unfinished_jobs_only(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let job = server
        .submit_noop(200, 20, json!({"priority": "low", "max_workers": 1}))
        .await;
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(job["options"]["priority"], "low");

    let (status, changed) =
        patch(&server, &id, json!({"priority": "high", "max_workers": 2})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["options"]["priority"], "high");
    assert_eq!(changed["options"]["max_workers"], 2);
    assert_eq!(server.job(&id).await["options"]["priority"], "high");
    // The cap goes: two items at once become possible beyond one.
    let (status, changed) = patch(&server, &id, json!({"max_workers": null})).await;
    assert_eq!(status, 200, "{changed}");
    assert!(changed["options"].get("max_workers").is_none(), "{changed}");

    for (bad, words) in [
        (json!({"priority": "urgent"}), "urgent"),
        (json!({"max_workers": 0}), "max_workers"),
        (json!({"state": "running"}), "state"),
        (json!({}), "nothing to change"),
    ] {
        let (status, problem) = patch(&server, &id, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {problem}");
        assert_eq!(problem["code"], "invalid_options", "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(words),
            "{bad}: {problem}"
        );
    }

    // The CLI.
    let (ok, out, err) = cli(&server, &["jobs", "priority", &id, "normal"]);
    assert!(ok, "{err}");
    assert!(out.contains("priority normal"), "{out}");
    let (ok, out, err) = cli(&server, &["jobs", "workers", &id, "3"]);
    assert!(ok, "{err}");
    assert!(out.contains("at most 3 at once"), "{out}");
    let (ok, _, err) = cli(&server, &["jobs", "priority", &id, "urgent"]);
    assert!(!ok && err.contains("urgent"), "{err}");
    assert_eq!(server.job(&id).await["options"]["max_workers"], 3);

    // Another user's job is not there; a finished job cannot change.
    let other = server.token_for("someone-else");
    let r = server
        .http
        .patch(format!("{}/v1/jobs/{id}", server.url))
        .bearer_auth(&other)
        .json(&json!({"priority": "high"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(control(&server, &id, "cancel").await["state"], "cancelled");
    let (status, problem) = patch(&server, &id, json!({"priority": "high"})).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "conflict");
}

async fn a_later_job_waits_and_can_be_cancelled_before_it_starts(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    // Both times in the resource's own format (UTC, milliseconds), which sorts as text.
    let soon = rfc3339(now_millis() + 1_500);
    let job = server.submit_noop(3, 0, json!({"not_before": soon})).await;
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(job["state"], "queued");
    assert_eq!(job["options"]["not_before"], soon.as_str());
    let done = server.finished(&id, Duration::from_secs(20)).await;
    assert_eq!(done["state"], "completed");
    assert!(
        done["started_at"].as_str().unwrap() >= soon.as_str(),
        "{done}"
    );

    let far = rfc3339(now_millis() + 3_600_000);
    let job = server.submit_noop(3, 0, json!({"not_before": far})).await;
    let id = job["id"].as_str().unwrap();
    let paused = control(&server, id, "pause").await;
    assert_eq!(paused["state"], "paused", "{paused}");
    let cancelled = control(&server, id, "cancel").await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    assert_eq!(cancelled["counts"]["cancelled"], 3);

    let r = server
        .post("/v1/jobs")
        .json(&json!({"kind": "noop", "source": {"count": 1}, "options": {"not_before": "soon"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_options", "{problem}");
}

on_both_backends!(
    priority_and_cap_change_on_unfinished_jobs_only,
    a_later_job_waits_and_can_be_cancelled_before_it_starts,
);
