//! End-to-end over real HTTP on a real port, against a real `docket serve` process.
//! Every test runs on SQLite and on PostgreSQL (`…_sqlite`, `…_postgres`), each on a fresh
//! database.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use support::{assert_problem, on_both_backends, Backend, Server};

fn files_form(n: usize) -> Form {
    let mut form = Form::new();
    for i in 0..n {
        let text = format!("Document {i}\nAn invoice for {i} widgets, payable in thirty days.\n");
        form = form.part(
            "files",
            Part::bytes(text.into_bytes()).file_name(format!("doc-{i:03}.txt")),
        );
    }
    form
}

async fn two_hundred_files_answer_202_fast_and_complete(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    // Warm the connection and the database, then measure the submit itself.
    server.get("/v1/jobs").send().await.expect("warm up");
    let mut fastest = Duration::MAX;
    let mut id = String::new();
    for attempt in 0..3 {
        let started = Instant::now();
        let r = server
            .post("/v1/jobs")
            .multipart(files_form(200))
            .send()
            .await
            .expect("submit");
        let took = started.elapsed();
        assert_eq!(r.status(), 202);
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("Location")
            .to_string();
        let job: Value = r.json().await.expect("job");
        assert_eq!(
            location,
            format!("/v1/jobs/{}", job["id"].as_str().unwrap())
        );
        assert_eq!(job["counts"]["total"], 200);
        assert!(matches!(job["state"].as_str(), Some("queued" | "running")));
        fastest = fastest.min(took);
        if attempt == 0 {
            id = job["id"].as_str().unwrap().to_string();
        }
    }
    eprintln!("fastest 200-file submit: {fastest:?}");
    assert!(fastest < Duration::from_millis(200), "202 took {fastest:?}");
    let done = server
        .wait(&id, Duration::from_secs(60), "completed", |j| {
            j["state"] == "completed"
        })
        .await;
    assert_eq!(done["counts"]["succeeded"], 200);
    assert_eq!(done["progress"], 100.0);
    let results = server.results(&id).await;
    assert_eq!(results.len(), 200);
    let doc = results[7]["output"]["document_id"]
        .as_str()
        .expect("document id");
    let text = server
        .get(&format!("/v1/documents/{doc}/text"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("An invoice for 7 widgets"), "{text}");
    let found: Value = server
        .get(&format!("/v1/search?q=widgets+payable&job={id}&limit=5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 200, "{found}");
    assert_eq!(found["hits"].as_array().unwrap().len(), 5);
    assert!(found["hits"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("<mark>"));
    let one: Value = server
        .get("/v1/search?q=invoice+for+7+widgets")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(one["hits"][0]["name"].as_str().is_some(), "{one}");
    assert_problem(
        server.get("/v1/search").send().await.unwrap(),
        400,
        "invalid_query",
    )
    .await;
    let metrics = server
        .http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let metrics = metrics.text().await.unwrap();
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').expect("name value");
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let sample = name.split('{').next().unwrap();
        // A histogram's samples carry suffixes; its TYPE line names the family.
        let bare = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                sample
                    .strip_suffix(suffix)
                    .filter(|family| metrics.contains(&format!("# TYPE {family} histogram")))
            })
            .unwrap_or(sample);
        assert!(
            bare.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{line}"
        );
        assert!(metrics.contains(&format!("# TYPE {bare} ")), "{line}");
    }
    assert!(
        metrics.contains("docket_jobs{state=\"completed\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE docket_ocr_pages_total counter\ndocket_ocr_pages_total "),
        "{metrics}"
    );
    let succeeded: f64 = metrics
        .lines()
        .find(|l| l.starts_with("docket_engine_items_total{outcome=\"succeeded\"}"))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
        .expect("succeeded counter");
    assert!(succeeded >= 200.0, "{metrics}");
    // A real Prometheus parser reads it, stage histograms included.
    let scrape = prometheus_parse::Scrape::parse(metrics.lines().map(|l| Ok(l.to_owned())))
        .expect("parses as Prometheus text");
    let extracting = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "docket_stage_duration_seconds"
                && s.labels.get("stage") == Some("extracting")
        })
        .expect("an extracting-stage histogram");
    match &extracting.value {
        prometheus_parse::Value::Histogram(buckets) => {
            let all = buckets.last().expect("buckets");
            assert!(
                all.less_than.is_infinite() && all.count >= 200.0,
                "{buckets:?}"
            );
            assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
        }
        other => panic!("not a histogram: {other:?}"),
    }
    let completed_extracting = scrape.samples.iter().any(|s| {
        s.metric == "docket_stage_items_total"
            && s.labels.get("stage") == Some("indexing")
            && s.labels.get("outcome") == Some("completed")
            && matches!(s.value, prometheus_parse::Value::Counter(n) if n >= 200.0)
    });
    assert!(completed_extracting, "{metrics}");
    // Every background service of `serve` reports under its name; each has done a round
    // (its first starts at once) and so has a last-run time.
    let sample = |metric: &str, service: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && s.labels.get("service") == Some(service))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(n) | prometheus_parse::Value::Gauge(n) => n,
                ref other => panic!("{metric}: not a number: {other:?}"),
            })
            .unwrap_or_else(|| panic!("no {metric} for {service}: {metrics}"))
    };
    for service in [
        "rescuer",
        "deadline_watcher",
        "held_releaser",
        "retention_cleaner",
        "lister",
        "webhook_deliverer",
        "trainer",
    ] {
        assert!(
            sample("docket_service_runs_total", service) >= 1.0,
            "{metrics}"
        );
        let last = sample("docket_service_last_run_timestamp_seconds", service);
        assert!(last > 1.7e9, "{service} last ran at {last}: {metrics}");
        sample("docket_service_errors_total", service);
        sample("docket_service_restarts_total", service);
    }
    for family in [
        "docket_service_last_run_timestamp_seconds gauge",
        "docket_service_runs_total counter",
        "docket_service_errors_total counter",
        "docket_service_restarts_total counter",
    ] {
        assert!(metrics.contains(&format!("# TYPE {family}")), "{metrics}");
    }
    let csv = server
        .get(&format!("/v1/jobs/{id}/results?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 201, "header and one row per item");
    let listed: Value = server
        .get("/v1/jobs?limit=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let cursor = listed["next_cursor"].as_str().expect("a next page");
    let rest: Value = server
        .get(&format!("/v1/jobs?limit=2&cursor={cursor}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
}

async fn pause_and_resume_mid_job_keep_exact_counts(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let job = server.submit_noop(300, 10, json!({})).await;
    let id = job["id"].as_str().unwrap();
    server
        .wait(id, Duration::from_secs(30), "40 done", |j| {
            j["counts"]["succeeded"].as_i64() >= Some(40)
        })
        .await;
    let r = server
        .post(&format!("/v1/jobs/{id}/pause"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let paused = server
        .wait(id, Duration::from_secs(10), "paused", |j| {
            j["state"] == "paused"
        })
        .await;
    assert_eq!(paused["pause_reason"], "user");
    assert_eq!(paused["counts"]["running"], 0);
    let succeeded = paused["counts"]["succeeded"].as_i64().unwrap();
    assert!(succeeded < 300, "paused mid-job");
    assert_eq!(
        succeeded + paused["counts"]["pending"].as_i64().unwrap(),
        300
    );
    // Pausing twice is fine; resuming a paused job is not an error; results are readable now.
    assert_eq!(server.results(id).await.len() as i64, succeeded);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.job(id).await["counts"],
        paused["counts"],
        "nothing moves while paused"
    );
    let r = server
        .post(&format!("/v1/jobs/{id}/resume"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let done = server
        .wait(id, Duration::from_secs(60), "completed", |j| {
            j["state"] == "completed"
        })
        .await;
    assert_eq!(done["counts"]["succeeded"], 300);
    let results = server.results(id).await;
    let ids: HashSet<_> = results
        .iter()
        .map(|r| r["item_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        (results.len(), ids.len()),
        (300, 300),
        "exactly one result per item"
    );
    let r = server
        .post(&format!("/v1/jobs/{id}/resume"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 409, "conflict").await;
}

async fn cancel_mid_job_keeps_what_finished(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let job = server.submit_noop(500, 50, json!({})).await;
    let id = job["id"].as_str().unwrap();
    server
        .wait(id, Duration::from_secs(30), "5 done", |j| {
            j["counts"]["succeeded"].as_i64() >= Some(5)
        })
        .await;
    let asked = Instant::now();
    let r = server
        .post(&format!("/v1/jobs/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cancelled: Value = r.json().await.unwrap();
    assert_eq!(cancelled["state"], "cancelled");
    assert!(cancelled["finished_at"].is_string());
    let done = server
        .wait(id, Duration::from_secs(2), "nothing in flight", |j| {
            j["counts"]["running"] == 0
        })
        .await;
    assert!(asked.elapsed() < Duration::from_secs(2));
    let c = &done["counts"];
    assert_eq!(
        c["succeeded"].as_i64().unwrap() + c["cancelled"].as_i64().unwrap(),
        500
    );
    // Results list every finished item: the succeeded ones and the cancelled rest.
    let results = server.results(id).await;
    assert_eq!(results.len(), 500);
    assert_eq!(
        results.iter().filter(|r| r["state"] == "succeeded").count() as i64,
        c["succeeded"].as_i64().unwrap()
    );
    let r = server
        .post(&format!("/v1/jobs/{id}/pause"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 409, "conflict").await;
    let r = server
        .http
        .delete(format!("{}/v1/jobs/{id}", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        server
            .get(&format!("/v1/jobs/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Gone from every read at once, while its rows are removed in the background.
    for path in [
        format!("/v1/jobs/{id}/results"),
        format!("/v1/jobs/{id}/items"),
    ] {
        assert_eq!(
            server.get(&path).send().await.unwrap().status(),
            404,
            "{path}"
        );
    }
    let list: Value = server
        .get("/v1/jobs")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["id"] != id),
        "a deleted job is not listed"
    );
}

async fn an_idempotency_key_returns_the_first_job(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let send = || {
        server
            .post("/v1/jobs")
            .header("Idempotency-Key", "batch-42")
            .multipart(files_form(3))
    };
    let first = send().send().await.unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let second = send().send().await.unwrap();
    assert_eq!(second.status(), 202);
    assert_eq!(
        second
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    let all: Value = server
        .get("/v1/jobs")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}

async fn another_users_token_gets_404_everywhere(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let job = server.submit_noop(20, 5, json!({})).await;
    let id = job["id"].as_str().unwrap();
    let done = server
        .wait(id, Duration::from_secs(30), "completed", |j| {
            j["state"] == "completed"
        })
        .await;
    let doc_job = server
        .post("/v1/jobs")
        .multipart(files_form(1))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let doc_job_id = doc_job["id"].as_str().unwrap();
    server
        .wait(doc_job_id, Duration::from_secs(30), "completed", |j| {
            j["state"] == "completed"
        })
        .await;
    let doc = server.results(doc_job_id).await[0]["output"]["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mallory = server.token_for("mallory");
    let base = &server.url;
    let c = &server.http;
    let requests = vec![
        c.get(format!("{base}/v1/jobs/{id}")),
        c.get(format!("{base}/v1/jobs/{id}/items")),
        c.get(format!("{base}/v1/jobs/{id}/results")),
        c.post(format!("{base}/v1/jobs/{id}/pause")),
        c.post(format!("{base}/v1/jobs/{id}/resume")),
        c.post(format!("{base}/v1/jobs/{id}/cancel")),
        c.delete(format!("{base}/v1/jobs/{id}")),
        c.get(format!("{base}/v1/documents/{doc}")),
        c.get(format!("{base}/v1/documents/{doc}/text")),
    ];
    for r in requests {
        let r = r.bearer_auth(&mallory).send().await.unwrap();
        assert_problem(r, 404, "not_found").await;
    }
    let mine: Value = c
        .get(format!("{base}/v1/jobs"))
        .bearer_auth(&mallory)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 0);
    assert_eq!(server.job(id).await["counts"], done["counts"], "untouched");
    let r = c
        .get(format!("{base}/v1/jobs"))
        .bearer_auth("dkt_not_a_token")
        .send()
        .await
        .unwrap();
    assert_problem(r, 401, "unauthorized").await;
}

async fn bad_input_gets_a_clear_problem_and_the_server_goes_on(backend: Backend) {
    let allowed = tempfile::tempdir().unwrap();
    std::fs::write(allowed.path().join("a.txt"), "hello from a folder").unwrap();
    std::fs::create_dir(allowed.path().join("sub")).unwrap();
    std::fs::write(
        allowed.path().join("sub/b.md"),
        "# Title\n\nSome *markdown*.",
    )
    .unwrap();
    let server = Server::start_on(
        backend,
        &[
            ("DOCKET_UPLOAD_LIMIT_BYTES", (1024 * 1024).to_string()),
            ("DOCKET_ALLOWED_ROOTS", allowed.path().display().to_string()),
        ],
    )
    .await;
    let json_post = |body: &str| {
        server
            .post("/v1/jobs")
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    assert_problem(
        json_post("{\"kind\": ").send().await.unwrap(),
        400,
        "malformed_json",
    )
    .await;
    let p = assert_problem(
        json_post(r#"{"kind":"noop","source":{"count":1},"options":{"max_wrokers":2}}"#)
            .send()
            .await
            .unwrap(),
        400,
        "invalid_options",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("max_wrokers"));
    assert_problem(
        json_post(r#"{"kind":"noop","source":{"count":1},"extra":1}"#)
            .send()
            .await
            .unwrap(),
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        server
            .post("/v1/jobs")
            .multipart(Form::new())
            .send()
            .await
            .unwrap(),
        400,
        "empty_upload",
    )
    .await;
    let empty_file = Form::new().part("files", Part::bytes(Vec::new()).file_name("empty.txt"));
    assert_problem(
        server
            .post("/v1/jobs")
            .multipart(empty_file)
            .send()
            .await
            .unwrap(),
        400,
        "empty_upload",
    )
    .await;
    let outside = json_post(r#"{"kind":"process","source":{"path":"/etc"}}"#)
        .send()
        .await
        .unwrap();
    assert_problem(outside, 403, "path_not_allowed").await;
    let escape = format!(
        r#"{{"kind":"process","source":{{"path":"{}/../../etc"}}}}"#,
        allowed.path().display()
    );
    assert_problem(
        json_post(&escape).send().await.unwrap(),
        403,
        "path_not_allowed",
    )
    .await;
    // The server stops reading at the limit and answers 413 at once (door.rs reads that
    // answer off a raw socket for bodies of 2 GiB). A client like reqwest that writes the whole
    // body before it reads may instead see the connection closed under it; either way the
    // server refused the upload and goes on, which the requests below show.
    let big = Form::new().part(
        "files",
        Part::bytes(vec![b'a'; 2 * 1024 * 1024]).file_name("big.txt"),
    );
    let sent = reqwest::Client::new()
        .post(format!("{}/v1/jobs", server.url))
        .bearer_auth(&server.token)
        .multipart(big)
        .send()
        .await;
    match sent {
        Ok(oversize) => {
            assert_eq!(
                oversize
                    .headers()
                    .get("connection")
                    .and_then(|v| v.to_str().ok()),
                Some("close")
            );
            assert_problem(oversize, 413, "payload_too_large").await;
        }
        Err(e) => assert!(e.is_request(), "not a closed connection: {e}"),
    }
    let bad_opts = files_form(1).part("options", Part::text("{nope"));
    assert_problem(
        server
            .post("/v1/jobs")
            .multipart(bad_opts)
            .send()
            .await
            .unwrap(),
        400,
        "malformed_json",
    )
    .await;
    assert_problem(
        server.get("/v1/jobs?state=sleeping").send().await.unwrap(),
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        server.get("/v1/jobs/job_nope").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_problem(
        server.get("/v1/nothing-here").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let left: Vec<_> = walkdir::WalkDir::new(server.data_dir().join("blobs"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(left.is_empty(), "rejected uploads leave no files: {left:?}");

    // The server is unaffected: a folder under the allowed root is processed end to end.
    assert_eq!(
        server
            .http
            .get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let body = format!(
        r#"{{"kind":"process","source":{{"path":"{}"}},"options":{{"max_workers":1}}}}"#,
        allowed.path().display()
    );
    let r = json_post(&body).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    let done = server
        .wait(
            job["id"].as_str().unwrap(),
            Duration::from_secs(30),
            "completed",
            |j| j["state"] == "completed",
        )
        .await;
    assert_eq!(done["counts"]["succeeded"], 2, "{done}");
    let names: HashSet<String> = server
        .results(job["id"].as_str().unwrap())
        .await
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        HashSet::from(["a.txt".to_string(), "sub/b.md".to_string()])
    );
}

fn cli(server: &Server, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_docket"))
        .args(args)
        .current_dir(server.path())
        .env("DOCKET_SERVER", &server.url)
        .env("DOCKET_TOKEN", &server.token)
        .output()
        .expect("run docket")
}

async fn the_cli_submits_watches_and_controls_jobs(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let docs = tempfile::tempdir().unwrap();
    std::fs::create_dir(docs.path().join("more")).unwrap();
    for i in 0..4 {
        std::fs::write(
            docs.path().join(format!("note-{i}.md")),
            format!("# Note {i}\n\nBody {i}."),
        )
        .unwrap();
    }
    std::fs::write(docs.path().join("more/page.html"), "<p>nested</p>").unwrap();
    let dir = docs.path().display().to_string();

    let out = cli(&server, &["--json", "submit", &dir, "--watch"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let job: Value = serde_json::from_str(&last).expect("final job JSON");
    assert_eq!(job["state"], "completed");
    assert_eq!(job["counts"]["succeeded"], 5);
    let id = job["id"].as_str().unwrap().to_string();

    let out = cli(&server, &["jobs", "ls", "--json"]);
    let page: Value = serde_json::from_slice(&out.stdout).expect("ls JSON");
    assert_eq!(page["items"][0]["id"], id.as_str());
    let human = String::from_utf8_lossy(&cli(&server, &["jobs", "ls"]).stdout).to_string();
    assert!(
        human.contains(&id) && human.contains("completed"),
        "{human}"
    );

    let out = cli(&server, &["jobs", "results", &id, "--format", "ndjson"]);
    let names: HashSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        names.contains("more/page.html") && names.len() == 5,
        "{names:?}"
    );

    let out = cli(&server, &["--json", "search", "nested"]);
    let found: Value = serde_json::from_slice(&out.stdout).expect("search JSON");
    assert_eq!(found["total"], 1);
    assert_eq!(found["hits"][0]["name"], "more/page.html");

    let out = cli(&server, &["jobs", "pause", &id]);
    assert!(!out.status.success(), "pausing a completed job fails");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot pause"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = cli(&server, &["--json", "jobs", "rm", &id]);
    assert!(out.status.success());
    assert_eq!(
        server
            .get(&format!("/v1/jobs/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let out = cli(&server, &["jobs", "show", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such job"));
}

on_both_backends!(
    two_hundred_files_answer_202_fast_and_complete,
    pause_and_resume_mid_job_keep_exact_counts,
    cancel_mid_job_keeps_what_finished,
    an_idempotency_key_returns_the_first_job,
    another_users_token_gets_404_everywhere,
    bad_input_gets_a_clear_problem_and_the_server_goes_on,
    the_cli_submits_watches_and_controls_jobs,
);
