//! The scale-out deployment end to end on real parts: an API process without workers and a
//! separate `docket worker`, sharing PostgreSQL and S3-compatible object storage (moto on
//! loopback). Uploads land in the bucket, the worker reads them from there, and deleting the
//! job removes them.

mod support;

#[path = "../../docket-blobs/tests/support/moto.rs"]
mod moto;

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use support::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_worker_share_postgres_and_s3() {
    let s3 = moto::Moto::start().await;
    s3.create_bucket("docket").await;
    let database = docket_store::testing::fresh_postgres_url().await;
    let mut s3_env = s3.docket_env("docket");
    s3_env.push(("DOCKET_DATABASE_URL", database.clone()));
    let mut env = s3_env.to_vec();
    env.push(("DOCKET_WORKERS", "0".to_string()));
    let server = Server::start(&env);
    let mut worker = Command::new(env!("CARGO_BIN_EXE_docket"));
    worker
        .arg("worker")
        .env("DOCKET_WORKERS", "2")
        .env("DOCKET_LOG", "warn")
        .stdout(Stdio::null());
    for (k, v) in &s3_env {
        worker.env(k, v);
    }
    let mut worker = worker.spawn().expect("start docket worker");

    let mut form = Form::new();
    for i in 0..20 {
        let text = format!("Report {i}: stored in object storage.");
        form = form.part(
            "files",
            Part::bytes(text.into_bytes()).file_name(format!("r-{i:02}.txt")),
        );
    }
    let r = server
        .post("/v1/jobs")
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    // Small files travel in one pack object (a multipart upload), each a range of it.
    let keys = s3.keys("docket").await;
    let uploads: Vec<&String> = keys
        .iter()
        .filter(|k| {
            k.starts_with(&format!(
                "blobs/{}",
                docket_core::blob_keys::upload_prefix(&id)
            ))
        })
        .collect();
    assert_eq!(
        uploads,
        [&format!(
            "blobs/{}",
            docket_core::blob_keys::upload_pack(&id)
        )],
        "{keys:?}"
    );

    let done = server
        .wait(&id, Duration::from_secs(60), "completed", |j| {
            j["state"] == "completed"
        })
        .await;
    assert_eq!(done["counts"]["succeeded"], 20, "{done}");
    let results = server.results(&id).await;
    let doc = results[3]["output"]["document_id"].as_str().unwrap();
    let text = server
        .get(&format!("/v1/documents/{doc}/text"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text.trim(), "Report 3: stored in object storage.");

    let r = server
        .http
        .delete(format!("{}/v1/jobs/{id}", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // Deletion is durable: the job is marked at once and its files are removed by a pass in
    // the background.
    let start = std::time::Instant::now();
    while s3.keys("docket").await.iter().any(|k| k.contains(&id)) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the job's uploads are not removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let _ = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    let status = worker.wait().expect("worker exits");
    assert!(status.success(), "graceful stop: {status}");
}
