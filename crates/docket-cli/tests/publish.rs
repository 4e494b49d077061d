//! Publishing to Archipelago, end to end: a real `docket serve` on each backend, publishing
//! to the Archipelago emulator (a real HTTP server faithful to ARCHIPELAGO.md), with crashes,
//! outages and bad credentials in the middle. "Nothing duplicated" is counted in what the
//! emulator stored.

mod support;

use std::collections::HashSet;
use std::io::Read;
use std::time::{Duration, Instant};

use archipelago_emulator::{Emulator, EmulatorConfig, FileStatus, Record, ResetRule};
use serde_json::{json, Value};
use support::{on_both_backends, Backend, Server};

const PASSWORD: &str = "s3cret-pass";

fn emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        password: PASSWORD.into(),
        ..EmulatorConfig::default()
    }
}

fn config(emulator: &Emulator, extra: &str) -> String {
    format!(
        "[publish.targets.archive]\nurl = \"{}\"\nuser = \"jsonapi\"\nconcurrency = 2\n\
         collection = \"c0ffee00-0000-4000-8000-000000000001\"\n\
         types = {{ letters = \"Letter\" }}\n{extra}\n",
        emulator.url()
    )
}

fn env() -> Vec<(&'static str, String)> {
    vec![
        ("DOCKET_PUBLISH_ARCHIVE_PASSWORD", PASSWORD.to_string()),
        ("DOCKET_RETRY_BASE_MS", "200".into()),
        ("DOCKET_RETRY_CAP_MS", "1000".into()),
        ("DOCKET_LEASE_SECONDS", "2".into()),
    ]
}

fn documents(n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                format!("doc-{i:02}.txt"),
                format!("Document number {i}: a letter about the harbour, page one.\n")
                    .into_bytes(),
            )
        })
        .collect()
}

/// A finished `process` job of `n` text documents.
async fn processed(server: &Server, n: usize) -> String {
    let job = server.submit_files(&documents(n), json!({})).await;
    let id = job["id"].as_str().unwrap().to_string();
    let done = server.finished(&id, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["succeeded"], n as u64, "{done}");
    id
}

async fn publish(server: &Server, job: &str, body: Value) -> reqwest::Response {
    server
        .post(&format!("/v1/jobs/{job}/publish"))
        .json(&body)
        .send()
        .await
        .expect("POST publish")
}

async fn start_publish(server: &Server, job: &str, body: Value) -> String {
    let r = publish(server, job, body).await;
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["kind"], "publish");
    job["id"].as_str().unwrap().to_string()
}

/// Polls the emulator until `done` holds, failing after `within`.
async fn until(emulator: &Emulator, within: Duration, what: &str, done: impl Fn(&Record) -> bool) {
    let start = Instant::now();
    loop {
        let record = emulator.record();
        if done(&record) {
            return;
        }
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every document is one object holding one permanent file; nothing else is stored.
fn assert_published_once(record: &Record, n: usize) {
    let uuids: HashSet<&str> = record.nodes().iter().map(|n| n.uuid.as_str()).collect();
    assert_eq!(record.nodes().len(), n, "objects: {:#?}", record.nodes());
    assert_eq!(uuids.len(), n, "duplicate object ids");
    assert_eq!(record.files().len(), n, "files: {:#?}", record.files());
    assert!(
        record.orphan_files().is_empty(),
        "orphaned uploads: {:#?}",
        record.orphan_files()
    );
    for node in record.nodes() {
        assert_eq!(node.files.len(), 1, "{node:?}");
        let file = record.file(node.files[0]).expect("the object's file");
        assert_eq!(file.status, FileStatus::Permanent);
    }
}

async fn objects_are_published_once_and_a_republish_creates_nothing(backend: Backend) {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let server = Server::start_configured(backend, &config(&emulator, ""), &env()).await;
    let mut files = documents(6);
    // Named without an extension: uploaded as what it is, text.
    files[5].0 = "README".into();
    let job = server.submit_files(&files, json!({})).await;
    let job = job["id"].as_str().unwrap().to_string();
    assert_eq!(
        server.finished(&job, Duration::from_secs(60)).await["counts"]["succeeded"],
        6
    );

    let publish_job = start_publish(&server, &job, json!({"target": "archive"})).await;
    let done = server.finished(&publish_job, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["succeeded"], 6, "{done}");
    let record = emulator.record();
    assert_published_once(&record, 6);
    assert!(
        record
            .files()
            .iter()
            .any(|f| f.filename.starts_with("README.") && f.filename.ends_with(".txt")),
        "{:#?}",
        record.files()
    );

    // The objects carry what ARCHIPELAGO.md says a digital object's metadata holds.
    let results = server.results(&job).await;
    for node in record.nodes() {
        assert_eq!(node.bundle, "digital_object");
        assert_eq!(node.moderation_state, "published");
        let metadata: Value = serde_json::from_str(&node.field_descriptive_metadata).unwrap();
        assert_eq!(metadata["type"], "Text", "{metadata}");
        assert_eq!(metadata["label"], node.title);
        assert_eq!(metadata["documents"], json!([node.files[0]]), "{metadata}");
        assert_eq!(
            metadata["ismemberof"],
            json!(["c0ffee00-0000-4000-8000-000000000001"])
        );
        assert_eq!(
            metadata["ap:entitymapping"]["entity:file"][0], "documents",
            "{metadata}"
        );
        let sha = metadata["docket"]["sha256"].as_str().unwrap();
        let file = record.file(node.files[0]).unwrap();
        assert_eq!(file.sha256, sha, "the uploaded bytes are the document's");
        assert!(
            results
                .iter()
                .any(|r| r["output"]["sha256"] == sha && r["name"] == node.title),
            "no document {sha} named {} in {results:?}",
            node.title
        );
    }

    // A second publish of the same job finds every object and makes nothing new.
    let again = start_publish(&server, &job, json!({"target": "archive"})).await;
    let done = server.finished(&again, Duration::from_secs(60)).await;
    assert_eq!(done["counts"]["succeeded"], 6, "{done}");
    assert_published_once(&emulator.record(), 6);
    for r in server.results(&again).await {
        assert_eq!(r["output"]["created"], false, "{r}");
    }
}

async fn an_ami_set_is_built_attached_and_left_ready(backend: Backend) {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let server =
        Server::start_configured(backend, &config(&emulator, "mode = \"ami_set\""), &env()).await;
    let job = processed(&server, 4).await;
    let publish_job = start_publish(&server, &job, json!({"target": "archive"})).await;
    let done = server.finished(&publish_job, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["total"], 1, "one item: the set");

    let record = emulator.record();
    assert_eq!(record.ami_sets().len(), 1, "{:#?}", record.ami_sets());
    assert!(
        record.nodes().is_empty(),
        "an AMI set creates no objects itself"
    );
    let set = &record.ami_sets()[0];
    assert_eq!(set.status, "READY");
    let result = &done["result"];
    assert_eq!(result["set_uuid"], set.uuid.as_str(), "{done}");
    assert_eq!(
        result["process_url"],
        format!("{}/amiset/{}/process", emulator.url(), set.id),
        "{done}"
    );
    let (csv_fid, zip_fid) = (set.source_data.expect("CSV"), set.zip_file.expect("ZIP"));
    let config: Value = serde_json::from_str(&set.set).unwrap();
    assert_eq!(config["csv"], csv_fid.to_string(), "{config}");
    assert_eq!(config["zip"], zip_fid.to_string(), "{config}");
    assert_eq!(config["total_rows"], 4);
    assert!(config["mapping"]["globalmapping_settings"]["files"].is_object());

    let csv = String::from_utf8(emulator.file_bytes(csv_fid).unwrap().to_vec()).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("node_uuid,type,label,ismemberof,documents,images")
    );
    let zip_bytes = emulator.file_bytes(zip_fid).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes.to_vec())).unwrap();
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "{csv}");
    for row in rows {
        let cells: Vec<&str> = row.split(',').collect();
        assert!(uuid::Uuid::parse_str(cells[0]).is_ok(), "{row}");
        assert_eq!(cells[1], "Text");
        assert_eq!(cells[3], "c0ffee00-0000-4000-8000-000000000001");
        let entry = cells[4];
        assert!(entry.starts_with("files/"), "{row}");
        let mut bytes = Vec::new();
        zip.by_name(entry)
            .unwrap_or_else(|_| panic!("the ZIP has no {entry}"))
            .read_to_end(&mut bytes)
            .unwrap();
        assert!(bytes.starts_with(b"Document number"), "{entry}");
        let name = entry.trim_start_matches("files/");
        assert!(zip.by_name(&format!("text/{name}.txt")).is_ok());
        assert!(zip.by_name(&format!("metadata/{name}.json")).is_ok());
    }

    // Publishing again finds the set and its files: nothing new in the repository.
    let files_before = record.files().len();
    let again = start_publish(&server, &job, json!({"target": "archive"})).await;
    let done = server.finished(&again, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "completed", "{done}");
    let record = emulator.record();
    assert_eq!(record.ami_sets().len(), 1);
    assert_eq!(record.files().len(), files_before, "{:#?}", record.files());
}

async fn a_kill_9_mid_publish_duplicates_nothing(backend: Backend) {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let server = Server::start_configured(backend, &config(&emulator, ""), &env()).await;
    let job = processed(&server, 16).await;
    // Slow answers keep the publish in the middle long enough to be killed there.
    emulator.faults().set_delay(Duration::from_millis(120));
    let publish_job = start_publish(&server, &job, json!({"target": "archive"})).await;
    until(&emulator, Duration::from_secs(60), "some objects", |r| {
        r.nodes().len() >= 3
    })
    .await;
    let database_url = server.database_url.clone();
    let dir = server.kill_9();
    let at_kill = emulator.record();
    assert!(
        at_kill.nodes().len() < 16,
        "the publish finished before the kill"
    );

    let mut env = env();
    if let Some(url) = database_url {
        env.push(("DOCKET_DATABASE_URL", url));
    }
    let server = Server::start_in(dir, &env);
    let done = server
        .finished(&publish_job, Duration::from_secs(120))
        .await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["succeeded"], 16, "{done}");
    assert_published_once(&emulator.record(), 16);
}

async fn lost_answers_to_uploads_make_no_second_file(backend: Backend) {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let server = Server::start_configured(backend, &config(&emulator, ""), &env()).await;
    let job = processed(&server, 4).await;
    // The site stores these uploads, but their answers never arrive.
    for path in ["field_file_drop", "source_data", "zip_file"] {
        emulator.faults().reset(ResetRule {
            count: 2,
            path_contains: Some(path.into()),
            after_handling: true,
        });
    }
    let objects = start_publish(&server, &job, json!({"target": "archive"})).await;
    let done = server.finished(&objects, Duration::from_secs(60)).await;
    assert_eq!(done["counts"]["succeeded"], 4, "{done}");
    assert_published_once(&emulator.record(), 4);
    let looked = emulator.record().requests_to("filter").len();
    assert!(
        looked >= 2,
        "the client did not look before uploading again"
    );

    let set = start_publish(
        &server,
        &job,
        json!({"target": "archive", "mode": "ami_set"}),
    )
    .await;
    let done = server.finished(&set, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["succeeded"], 1, "{done}");
    let record = emulator.record();
    let set = &record.ami_sets()[0];
    assert!(
        set.source_data.is_some() && set.zip_file.is_some(),
        "{set:?}"
    );
    // Every file is the one an entity holds: none was uploaded twice.
    assert_eq!(record.files().len(), 4 + 2, "{:#?}", record.files());
    assert!(
        record.orphan_files().is_empty(),
        "{:#?}",
        record.orphan_files()
    );
}

async fn an_outage_mid_publish_is_ridden_out(backend: Backend) {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let server = Server::start_configured(backend, &config(&emulator, ""), &env()).await;
    let job = processed(&server, 10).await;
    emulator.faults().set_delay(Duration::from_millis(50));
    let publish_job = start_publish(&server, &job, json!({"target": "archive"})).await;
    until(&emulator, Duration::from_secs(60), "some objects", |r| {
        r.nodes().len() >= 2
    })
    .await;
    emulator.faults().down_for(Duration::from_secs(15));
    let down_at = Instant::now();
    let done = server
        .finished(&publish_job, Duration::from_secs(120))
        .await;
    assert!(
        down_at.elapsed() >= Duration::from_secs(15),
        "finished during the outage?"
    );
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["succeeded"], 10, "{done}");
    assert_eq!(done["counts"]["failed"], 0, "{done}");
    assert_published_once(&emulator.record(), 10);
}

/// A target that stays down: its breaker trips, the publish job pauses with
/// `remote_unavailable` (no item failed, no retry spent), `GET /v1/remotes` says so, and once
/// the site answers again the prober resumes the job by itself.
async fn a_target_that_stays_down_pauses_the_job_until_it_answers(backend: Backend) {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let server = Server::start_configured(
        backend,
        &format!(
            "{}[remotes]\nfailures_to_trip = 3\nprobe_base_ms = 500\nprobe_max_ms = 2000\n",
            config(&emulator, "retry_budget_seconds = 1\nconcurrency = 4")
                .replace("concurrency = 2\n", "")
        ),
        &env(),
    )
    .await;
    let job = processed(&server, 8).await;
    emulator.faults().down_for(Duration::from_secs(600));
    let publish_job = start_publish(&server, &job, json!({"target": "archive"})).await;
    let paused = server
        .wait(
            &publish_job,
            Duration::from_secs(120),
            "a pause for the target",
            |j| j["state"] == "paused",
        )
        .await;
    assert_eq!(paused["pause_reason"], "remote_unavailable", "{paused}");
    assert_eq!(paused["counts"]["failed"], 0, "{paused}");
    assert!(emulator.record().nodes().is_empty());
    let remotes: Value = server
        .get("/v1/remotes")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let archive = remotes["remotes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "archive")
        .cloned()
        .unwrap_or_default();
    assert_eq!(archive["state"], "down", "{remotes}");
    assert_eq!(archive["kind"], "publish", "{remotes}");
    // Back: no `resume` from anyone, the job goes on by itself.
    emulator.faults().clear();
    let done = server
        .finished(&publish_job, Duration::from_secs(120))
        .await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["succeeded"], 8, "{done}");
    assert_published_once(&emulator.record(), 8);
}

async fn bad_credentials_fail_items_with_the_remote_s_words_and_no_secret(backend: Backend) {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let mut env = env();
    env[0].1 = "wrong-password-xyz".into();
    let server = Server::start_configured(backend, &config(&emulator, ""), &env).await;
    let job = processed(&server, 2).await;
    let publish_job = start_publish(&server, &job, json!({"target": "archive"})).await;
    let done = server.finished(&publish_job, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["failed"], 2, "{done}");
    let items: Value = server.items(&publish_job, "").await;
    let text = items.to_string();
    for item in items["items"].as_array().unwrap() {
        let errors = item["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "a refusal is not retried: {item}");
        let message = errors[0]["message"].as_str().unwrap();
        assert!(message.starts_with("archive: "), "{message}");
        assert!(message.contains("HTTP 403"), "{message}");
        assert_eq!(errors[0]["transient"], false);
    }
    assert!(!text.contains("wrong-password-xyz"), "{text}");
    assert!(!done.to_string().contains("wrong-password-xyz"));
    let metrics = server
        .http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("wrong-password-xyz"));
    assert!(emulator.record().files().is_empty());
}

async fn a_refused_upload_fails_its_item_with_the_repository_s_words(backend: Backend) {
    // A repository whose file field takes PDFs and images, not text.
    let emulator = Emulator::start(EmulatorConfig {
        file_drop_extensions: vec!["pdf".into(), "png".into()],
        ..emulator_config()
    })
    .await
    .unwrap();
    let server = Server::start_configured(backend, &config(&emulator, ""), &env()).await;
    let job = server.submit_files(&documents(2), json!({})).await;
    let job = job["id"].as_str().unwrap();
    server.finished(job, Duration::from_secs(60)).await;
    let publish_job = start_publish(&server, job, json!({"target": "archive"})).await;
    let done = server.finished(&publish_job, Duration::from_secs(60)).await;
    assert_eq!(done["counts"]["failed"], 2, "{done}");
    let items: Value = server.items(&publish_job, "?state=failed").await;
    let error = &items["items"][0]["errors"][0];
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("HTTP 422"), "{message}");
    assert!(
        message.contains("extensions"),
        "the repository's own words: {message}"
    );
    assert_eq!(error["transient"], false);
    assert_eq!(items["items"][0]["attempts"], 1, "a refusal is not retried");
    assert!(emulator.record().nodes().is_empty());
}

async fn publish_requests_are_checked_at_the_door(backend: Backend) {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let server = Server::start_configured(backend, &config(&emulator, ""), &env()).await;
    let job = processed(&server, 1).await;
    let problem = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "status {status}"
        );
        let body: Value = r.json().await.unwrap();
        (
            status,
            body["code"].as_str().unwrap_or_default().to_string(),
            body,
        )
    };
    let (status, code, body) =
        problem(publish(&server, &job, json!({"target": "nowhere"})).await).await;
    assert_eq!((status, code.as_str()), (400, "unknown_target"), "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("archive"),
        "{body}"
    );
    assert!(
        !body.to_string().contains(&emulator.url()),
        "the target's URL leaked: {body}"
    );
    let (status, code, _) =
        problem(publish(&server, &job, json!({"target": "archive", "mode": "zip"})).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
    let (status, _, _) = problem(
        publish(
            &server,
            &job,
            json!({"target": "archive", "url": "http://127.0.0.1:1"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused");
    // Another user's job is nobody's business.
    let other = server.token_for("mallory");
    let r = server
        .http
        .post(format!("{}/v1/jobs/{job}/publish", server.url))
        .bearer_auth(other)
        .json(&json!({"target": "archive"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // A job without succeeded documents has nothing to publish.
    let empty = server
        .submit_files(&[("empty.bin".into(), vec![0u8, 159, 146, 150])], json!({}))
        .await;
    let empty = empty["id"].as_str().unwrap();
    server.finished(empty, Duration::from_secs(60)).await;
    let (status, code, _) =
        problem(publish(&server, empty, json!({"target": "archive"})).await).await;
    assert_eq!((status, code.as_str()), (409, "nothing_to_publish"));
    // The targets are listed without their URLs or credentials.
    let targets: Value = server
        .get("/v1/publish/targets")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        targets,
        json!({"targets": [{"name": "archive", "mode": "objects", "concurrency": 2}]})
    );
    assert!(
        emulator.record().requests().is_empty(),
        "nothing reached the repository"
    );
}

async fn the_cli_publishes_and_watches(backend: Backend) {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let server = Server::start_configured(backend, &config(&emulator, ""), &env()).await;
    let job = processed(&server, 3).await;
    let out = server
        .docket()
        .args([
            "publish", &job, "--target", "archive", "--mode", "ami_set", "--watch",
        ])
        .env("DOCKET_SERVER", &server.url)
        .env("DOCKET_TOKEN", &server.token)
        .output()
        .expect("docket publish");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("is READY: process it at"), "{stdout}");
    assert_eq!(emulator.record().ami_sets().len(), 1);
    let refused = server
        .docket()
        .args(["publish", &job, "--target", "nowhere"])
        .env("DOCKET_SERVER", &server.url)
        .env("DOCKET_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no publish target"));
}

on_both_backends!(
    objects_are_published_once_and_a_republish_creates_nothing,
    an_ami_set_is_built_attached_and_left_ready,
    a_kill_9_mid_publish_duplicates_nothing,
    an_outage_mid_publish_is_ridden_out,
    lost_answers_to_uploads_make_no_second_file,
    a_target_that_stays_down_pauses_the_job_until_it_answers,
    bad_credentials_fail_items_with_the_remote_s_words_and_no_secret,
    a_refused_upload_fails_its_item_with_the_repository_s_words,
    publish_requests_are_checked_at_the_door,
    the_cli_publishes_and_watches,
);
