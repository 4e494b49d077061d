//! Stock tus clients nobody here wrote — `tuspy` (PyPI) and `tus-js-client` (npm, under
//! Node) — upload to a real `docket serve`, on SQLite and PostgreSQL: a client killed mid-file
//! and the upload finished by a new client process from the offset the server reports; a
//! checksum the data does not match; another user's upload; an expired upload; the server
//! killed mid-upload. Both clients are installed by `scripts/test.sh` (`pip install tuspy`,
//! `npm ci` in `tests/tus`); without them these tests fail, they never skip.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{on_both_backends, Backend, Server};

#[derive(Clone, Copy, Debug)]
enum Client {
    Tuspy,
    TusJs,
}

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/tus")
}

/// A running client process; its stdout lines (`url …`, `offset …`, `done …`, `error …`)
/// arrive on `lines`.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    /// The next line that starts with `prefix`, within `within`.
    fn line(&self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => {
                    return line[prefix.len()..].trim().to_string()
                }
                Ok(_) => {}
                Err(e) => panic!("no `{prefix}` line from the client: {e}"),
            }
        }
    }

    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL the client");
        self.child.wait().expect("reap the client");
    }

    /// Waits for the process to end; its exit code.
    fn exit_code(mut self) -> i32 {
        self.child
            .wait()
            .expect("wait for the client")
            .code()
            .unwrap_or(-1)
    }
}

struct Upload<'a> {
    client: Client,
    endpoint: String,
    token: &'a str,
    file: &'a Path,
    chunk: usize,
    url: Option<String>,
    delay_ms: u64,
    checksum: &'a str,
}

impl Upload<'_> {
    fn start(&self) -> Running {
        let dir = clients_dir();
        let mut cmd = match self.client {
            Client::Tuspy => {
                let mut c = Command::new("python3");
                c.arg(dir.join("tuspy_client.py"))
                    .args(["--checksum", self.checksum]);
                c
            }
            Client::TusJs => {
                assert!(
                    dir.join("node_modules/tus-js-client").exists(),
                    "tus-js-client is not installed: run `npm ci` in tests/tus (scripts/test.sh does)"
                );
                let mut c = Command::new("node");
                c.arg(dir.join("tusjs_client.mjs"));
                c
            }
        };
        cmd.arg("--endpoint")
            .arg(&self.endpoint)
            .arg("--token")
            .arg(self.token)
            .arg("--file")
            .arg(self.file)
            .arg("--chunk-size")
            .arg(self.chunk.to_string())
            .arg("--delay-ms")
            .arg(self.delay_ms.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(url) = &self.url {
            cmd.arg("--url").arg(url);
        }
        let mut child = cmd.spawn().expect("start the tus client");
        let stdout = child.stdout.take().expect("client stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }
}

fn write_file(dir: &Path, name: &str, size: usize) -> (PathBuf, Vec<u8>) {
    let data: Vec<u8> = (0..size)
        .map(|i| b"the quick brown fox jumps over the lazy dog\n"[i % 44])
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, &data).expect("write the file to upload");
    (path, data)
}

async fn offset(server: &Server, token: &str, path: &str) -> Result<u64, u16> {
    let r = server
        .http
        .request(Method::HEAD, format!("{}{path}", server.url))
        .bearer_auth(token)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("HEAD");
    if r.status() != 200 {
        return Err(r.status().as_u16());
    }
    Ok(r.headers()["upload-offset"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("offset"))
}

/// The path part of an upload URL.
fn path_of(url: &str) -> String {
    let at = url.find("/v1/uploads/").expect("an upload URL");
    url[at..].to_string()
}

async fn submit_and_check(server: &Server, path: &str, data: &[u8], name: &str) {
    let id = path.rsplit('/').next().expect("id");
    let r = server
        .post("/v1/jobs")
        .json(&json!({"kind": "process", "source": {"uploads": [id]}}))
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    let job: Value = r.json().await.expect("job");
    let job_id = job["id"].as_str().expect("job id");
    let done = server.finished(job_id, Duration::from_secs(60)).await;
    assert_eq!(done["counts"]["succeeded"], 1, "{done}");
    let doc = server.only_document(job_id).await;
    assert_eq!(doc["name"], name);
    assert_eq!(doc["sha256"], hex::encode(Sha256::digest(data)));
}

/// A client killed mid-file; a new client process asks the offset and finishes the file.
async fn killed_client_then_a_new_process_finishes(backend: Backend, client: Client) {
    let server = Server::start_on(backend, &[]).await;
    let (file, data) = write_file(server.path(), "scan-notes.txt", 4 * 1024 * 1024);
    let mut upload = Upload {
        client,
        endpoint: format!("{}/v1/uploads", server.url),
        token: &server.token,
        file: &file,
        chunk: 128 * 1024,
        url: None,
        delay_ms: 40,
        checksum: "sha256",
    };
    let first = upload.start();
    let url = first.line("url ", Duration::from_secs(30));
    let path = path_of(&url);
    // Some chunks acknowledged, most of the file still to go: kill it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let at = offset(&server, &server.token, &path).await.expect("HEAD");
        if at >= 512 * 1024 {
            break;
        }
        assert!(Instant::now() < deadline, "the client never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill_9();
    let reported = offset(&server, &server.token, &path).await.expect("HEAD");
    assert!(
        reported > 0 && reported < data.len() as u64,
        "killed mid-file: {reported}"
    );

    upload.url = Some(url);
    upload.delay_ms = 0;
    let second = upload.start();
    second.line("done ", Duration::from_secs(60));
    assert_eq!(second.exit_code(), 0);
    assert_eq!(
        offset(&server, &server.token, &path).await,
        Ok(data.len() as u64)
    );
    submit_and_check(&server, &path, &data, "scan-notes.txt").await;
}

async fn tuspy_killed_mid_file_is_finished_by_a_new_process(backend: Backend) {
    killed_client_then_a_new_process_finishes(backend, Client::Tuspy).await;
}

async fn tus_js_client_killed_mid_file_is_finished_by_a_new_process(backend: Backend) {
    killed_client_then_a_new_process_finishes(backend, Client::TusJs).await;
}

/// tuspy's `Upload-Checksum` with a digest its data does not match: 460, nothing stored.
async fn tuspy_with_a_wrong_checksum_gets_460_and_stores_nothing(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let (file, _) = write_file(server.path(), "a.txt", 100_000);
    let run = Upload {
        client: Client::Tuspy,
        endpoint: format!("{}/v1/uploads", server.url),
        token: &server.token,
        file: &file,
        chunk: 50_000,
        url: None,
        delay_ms: 0,
        checksum: "wrong",
    }
    .start();
    let path = path_of(&run.line("url ", Duration::from_secs(30)));
    assert_eq!(run.line("error ", Duration::from_secs(30)), "460");
    assert_eq!(run.exit_code(), 3);
    assert_eq!(offset(&server, &server.token, &path).await, Ok(0));
}

/// Another user's upload id, and an expired upload, refused to stock clients.
async fn other_users_and_expired_uploads_are_refused_to_clients(backend: Backend) {
    let server = Server::start_on(backend, &[("DOCKET_UPLOADS_EXPIRY_SECONDS", "3".into())]).await;
    let (file, data) = write_file(server.path(), "b.txt", 1024 * 1024);
    let mut upload = Upload {
        client: Client::TusJs,
        endpoint: format!("{}/v1/uploads", server.url),
        token: &server.token,
        file: &file,
        chunk: 64 * 1024,
        url: None,
        delay_ms: 50,
        checksum: "none",
    };
    let first = upload.start();
    let url = first.line("url ", Duration::from_secs(30));
    first.line("offset ", Duration::from_secs(30));
    first.kill_9();
    let path = path_of(&url);
    let at = offset(&server, &server.token, &path).await.expect("HEAD");
    assert!(at < data.len() as u64);

    let bob = server.token_for("bob");
    for client in [Client::Tuspy, Client::TusJs] {
        let run = Upload {
            client,
            token: &bob,
            url: Some(url.clone()),
            delay_ms: 0,
            ..clone_of(&upload)
        }
        .start();
        assert_eq!(
            run.line("error ", Duration::from_secs(30)),
            "404",
            "{client:?}"
        );
        run.exit_code();
    }
    assert_eq!(
        offset(&server, &server.token, &path).await,
        Ok(at),
        "bob changed nothing"
    );

    // Left unused past its expiry, it is gone for its owner's client too.
    let deadline = Instant::now() + Duration::from_secs(30);
    while offset(&server, &server.token, &path).await.is_ok() {
        assert!(Instant::now() < deadline, "the upload never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    upload.url = Some(url);
    upload.delay_ms = 0;
    let run = upload.start();
    let status = run.line("error ", Duration::from_secs(30));
    assert!(status == "404" || status == "410", "{status}");
    run.exit_code();
}

fn clone_of<'a>(u: &Upload<'a>) -> Upload<'a> {
    Upload {
        client: u.client,
        endpoint: u.endpoint.clone(),
        token: u.token,
        file: u.file,
        chunk: u.chunk,
        url: u.url.clone(),
        delay_ms: u.delay_ms,
        checksum: u.checksum,
    }
}

/// The server killed (`kill -9`) while a client uploads; restarted, a new client finishes
/// the file from the offset the server reports, and nothing acknowledged is lost.
async fn a_server_killed_mid_upload_is_resumed_by_a_client(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let files = tempfile::tempdir().expect("temp dir");
    let (file, data) = write_file(files.path(), "c.txt", 4 * 1024 * 1024);
    let token = server.token.clone();
    let upload = Upload {
        client: Client::Tuspy,
        endpoint: format!("{}/v1/uploads", server.url),
        token: &token,
        file: &file,
        chunk: 128 * 1024,
        url: None,
        delay_ms: 30,
        checksum: "sha256",
    };
    let first = upload.start();
    let url = first.line("url ", Duration::from_secs(30));
    let path = path_of(&url);
    let mut acknowledged = 0;
    for _ in 0..4 {
        acknowledged = first
            .line("offset ", Duration::from_secs(30))
            .parse::<u64>()
            .expect("offset");
    }
    let database: Vec<(&str, String)> = server
        .database_url
        .clone()
        .map(|url| vec![("DOCKET_DATABASE_URL", url)])
        .unwrap_or_default();
    let dir = server.kill_9();
    first.exit_code();

    let server = Server::start_in(dir, &database);
    let at = offset(&server, &token, &path).await.expect("HEAD");
    assert!(
        at >= acknowledged,
        "acknowledged {acknowledged}, the server has {at}"
    );
    let second = Upload {
        endpoint: format!("{}/v1/uploads", server.url),
        url: Some(format!("{}{path}", server.url)),
        delay_ms: 0,
        ..clone_of(&upload)
    }
    .start();
    second.line("done ", Duration::from_secs(60));
    assert_eq!(second.exit_code(), 0);
    submit_and_check(&server, &path, &data, "c.txt").await;
}

on_both_backends!(
    tuspy_killed_mid_file_is_finished_by_a_new_process,
    tus_js_client_killed_mid_file_is_finished_by_a_new_process,
    tuspy_with_a_wrong_checksum_gets_460_and_stores_nothing,
    other_users_and_expired_uploads_are_refused_to_clients,
    a_server_killed_mid_upload_is_resumed_by_a_client,
);
