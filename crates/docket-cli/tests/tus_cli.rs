//! `docket submit` over tus against a real `docket serve`, on SQLite and PostgreSQL: a CLI
//! killed mid-file is picked up by `docket submit --resume` of the same paths (nothing that
//! arrived is sent again), and a server that goes away mid-upload is waited for and resumed.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{on_both_backends, Backend, Server};

fn docket(server_url: &str, token: &str, state_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_docket"));
    cmd.env("DOCKET_SERVER", server_url)
        .env("DOCKET_TOKEN", token)
        .env("DOCKET_STATE_DIR", state_dir)
        .env_remove("DOCKET_DATABASE_URL");
    cmd
}

fn write_file(path: &Path, size: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..size)
        .map(|i| b"Pack my box with five dozen liquor jugs.\n"[i % 41])
        .collect();
    std::fs::write(path, &data).expect("write the file");
    data
}

/// The one upload path the state file names, once it names one.
fn upload_in_state(state_dir: &Path) -> Option<String> {
    let entry = std::fs::read_dir(state_dir)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".json"))?;
    let state: Value = serde_json::from_slice(&std::fs::read(entry.path()).ok()?).ok()?;
    state["files"][0]["upload"].as_str().map(str::to_string)
}

async fn offset(server: &Server, path: &str) -> u64 {
    let r = server
        .http
        .request(Method::HEAD, format!("{}{path}", server.url))
        .bearer_auth(&server.token)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("HEAD");
    assert_eq!(r.status(), 200);
    r.headers()["upload-offset"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("offset")
}

async fn wait_for<T>(within: Duration, what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_killed_submit_is_finished_by_resume_without_resending(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let files = tempfile::tempdir().expect("temp dir");
    let state = tempfile::tempdir().expect("state dir");
    let file = files.path().join("collection.txt");
    let data = write_file(&file, 16 * 1024 * 1024);

    // A slow link: 4 MB/s in 256 KiB steps, about four seconds for the file.
    let mut first = docket(&server.url, &server.token, state.path())
        .args(["--json", "submit"])
        .arg(&file)
        .args(["--chunk-size", "262144", "--limit-rate", "4000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docket submit");
    let upload = wait_for(
        Duration::from_secs(30),
        "the upload in the state file",
        async || upload_in_state(state.path()),
    )
    .await;
    wait_for(Duration::from_secs(30), "a first megabyte", async || {
        (offset(&server, &upload).await >= 1024 * 1024).then_some(())
    })
    .await;
    first.kill().expect("SIGKILL the CLI");
    first.wait().expect("reap the CLI");
    let at_kill = offset(&server, &upload).await;
    assert!(at_kill < data.len() as u64, "killed mid-file: {at_kill}");

    let out = docket(&server.url, &server.token, state.path())
        .args(["--json", "submit", "--resume"])
        .arg(&file)
        .output()
        .expect("docket submit --resume");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: Value = serde_json::from_slice(&out.stdout).expect("job JSON");
    let id = job["id"].as_str().expect("job id");
    let done = server.finished(id, Duration::from_secs(60)).await;
    assert_eq!(done["counts"]["succeeded"], 1, "{done}");

    // The same upload was finished, not a second one started.
    let uploads: Vec<_> = std::fs::read_dir(server.data_dir().join("blobs/resumable"))
        .expect("resumable uploads")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        uploads,
        vec![upload.rsplit('/').next().unwrap_or_default().to_string()]
    );
    let doc = server.only_document(id).await;
    assert_eq!(doc["name"], "collection.txt");
    assert_eq!(doc["sha256"], hex::encode(Sha256::digest(&data)));
    assert!(
        std::fs::read_dir(state.path())
            .expect("state dir")
            .next()
            .is_none(),
        "a finished submit leaves no state behind"
    );
}

on_both_backends!(a_killed_submit_is_finished_by_resume_without_resending);
