//! Drives the stock tus clients in `tests/tus` (tuspy and tus-js-client) as separate processes,
//! and the checks the tus tests share. Included by path by the test files that use it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::Server;

#[derive(Clone, Copy, Debug)]
pub enum Client {
    Tuspy,
    TusJs,
}

pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/tus")
}

/// A running client process; its stdout lines (`url …`, `offset …`, `done …`, `error …`)
/// arrive on `lines`.
pub struct Running {
    child: Child,
    pub lines: mpsc::Receiver<String>,
}

impl Running {
    /// The next line that starts with `prefix`, within `within`.
    pub fn line(&self, prefix: &str, within: Duration) -> String {
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

    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL the client");
        self.child.wait().expect("reap the client");
    }

    /// Waits for the process to end; its exit code.
    pub fn exit_code(mut self) -> i32 {
        self.child
            .wait()
            .expect("wait for the client")
            .code()
            .unwrap_or(-1)
    }
}

pub struct Upload<'a> {
    pub client: Client,
    pub endpoint: String,
    pub token: &'a str,
    pub file: &'a Path,
    pub chunk: usize,
    pub url: Option<String>,
    pub delay_ms: u64,
    pub checksum: &'a str,
}

impl Upload<'_> {
    pub fn start(&self) -> Running {
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

pub fn write_file(dir: &Path, name: &str, size: usize) -> (PathBuf, Vec<u8>) {
    let data: Vec<u8> = (0..size)
        .map(|i| b"the quick brown fox jumps over the lazy dog\n"[i % 44])
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, &data).expect("write the file to upload");
    (path, data)
}

pub async fn offset(server: &Server, token: &str, path: &str) -> Result<u64, u16> {
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
pub fn path_of(url: &str) -> String {
    let at = url.find("/v1/uploads/").expect("an upload URL");
    url[at..].to_string()
}

pub async fn submit_and_check(server: &Server, path: &str, data: &[u8], name: &str) {
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
