//! A real `docket serve` process on a free port, in its own temporary directory.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    pub child: Child,
    pub url: String,
    pub token: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    /// The server's `DOCKET_DATABASE_URL`; `None` is SQLite in its own `data/` directory.
    pub database_url: Option<String>,
}

/// The database a test's server runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The `DOCKET_DATABASE_URL` of a fresh, empty database: none for SQLite (the server makes
    /// one in its own fresh directory), a new database for PostgreSQL. PostgreSQL comes from
    /// `DOCKET_TEST_POSTGRES_URL`; when it is unset or unreachable the test fails, never
    /// skips, so a run without PostgreSQL cannot pass for one with it.
    pub async fn fresh_database(self) -> Option<String> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => {
                assert!(
                    std::env::var_os("DOCKET_TEST_POSTGRES_URL").is_some(),
                    "DOCKET_TEST_POSTGRES_URL is unset: the PostgreSQL half of this test needs \
                     a server where it may create databases, e.g. \
                     postgres://postgres@127.0.0.1:5432/postgres"
                );
                Some(docket_store::testing::fresh_postgres_url().await)
            }
        }
    }
}

/// Instantiates each named `async fn case(backend: Backend)` as two tests, `case_sqlite` and
/// `case_postgres`, each on a fresh database of its own.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($case:ident),+ $(,)?) => {
        $(
            ::paste::paste! {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn [<$case _sqlite>]() {
                    $case($crate::support::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn [<$case _postgres>]() {
                    $case($crate::support::Backend::Postgres).await;
                }
            }
        )+
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;

impl Server {
    /// [`Server::start`] on a fresh database of `backend`.
    pub async fn start_on(backend: Backend, env: &[(&str, String)]) -> Server {
        Server::start_on_in(backend, tempfile::tempdir().expect("temp dir"), env).await
    }

    /// [`Server::start_on`] with `toml` as its `docket.toml`.
    pub async fn start_configured(backend: Backend, toml: &str, env: &[(&str, String)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("docket.toml"), toml).expect("write docket.toml");
        Server::start_on_in(backend, dir, env).await
    }

    pub async fn start_on_in(
        backend: Backend,
        dir: tempfile::TempDir,
        env: &[(&str, String)],
    ) -> Server {
        let mut env = env.to_vec();
        if let Some(url) = backend.fresh_database().await {
            env.push(("DOCKET_DATABASE_URL", url));
        }
        let server = Server::start_in(dir, &env);
        // The default database is SQLite in `data/`: its file there means the server did not
        // run on the backend the test is named after.
        let sqlite_file = server.data_dir().join("docket.db").exists();
        match backend {
            Backend::Sqlite => assert!(sqlite_file, "no SQLite database in {:?}", server.path()),
            Backend::Postgres => assert!(!sqlite_file, "a PostgreSQL test opened SQLite"),
        }
        server
    }

    /// Starts `docket serve` with `env` on top of defaults pointing into a fresh directory.
    pub fn start(env: &[(&str, String)]) -> Server {
        Server::start_in(tempfile::tempdir().expect("temp dir"), env)
    }

    /// [`Server::start`] in `dir`, e.g. the directory of a server that was killed, so that
    /// the new one finds its database, blobs and token.
    pub fn start_in(dir: tempfile::TempDir, env: &[(&str, String)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_docket"));
        cmd.arg("serve")
            .current_dir(dir.path())
            .env("DOCKET_BIND", "127.0.0.1:0")
            .env("DOCKET_LOG", "warn")
            .env_remove("DOCKET_DATABASE_URL")
            .env_remove("DOCKET_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut database_url = None;
        for (k, v) in env {
            cmd.env(k, v);
            if *k == "DOCKET_DATABASE_URL" {
                database_url = Some(v.clone());
            }
        }
        let mut child = cmd.spawn().expect("start docket serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let url = line
            .trim()
            .strip_prefix("docket listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        let token = std::fs::read_to_string(dir.path().join("data/token"))
            .expect("first-start token")
            .trim()
            .to_string();
        Server {
            child,
            url,
            token,
            dir,
            http: reqwest::Client::new(),
            database_url,
        }
    }

    /// SIGKILLs the server (no chance to clean up) and hands back its directory.
    pub fn kill_9(mut self) -> tempfile::TempDir {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"))
    }

    /// The value of an unlabelled counter or gauge in `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics body");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `docket` command run in the server's directory on the server's database.
    pub fn docket(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_docket"));
        cmd.current_dir(self.dir.path());
        match &self.database_url {
            Some(url) => cmd.env("DOCKET_DATABASE_URL", url),
            None => cmd.env_remove("DOCKET_DATABASE_URL"),
        };
        cmd
    }

    /// A second user's token, made with the CLI against the same database.
    pub fn token_for(&self, user: &str) -> String {
        let out = self
            .docket()
            .args(["token", "create", "--user", user, "--json"])
            .output()
            .expect("docket token create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("token json");
        assert_eq!(v["user"], user);
        v["token"].as_str().expect("token").to_string()
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
    }

    pub async fn job(&self, id: &str) -> Value {
        let r = self
            .get(&format!("/v1/jobs/{id}"))
            .send()
            .await
            .expect("GET job");
        assert_eq!(r.status(), 200);
        r.json().await.expect("job json")
    }

    /// Polls the job until `done`, failing after `within`.
    pub async fn wait(
        &self,
        id: &str,
        within: Duration,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let job = self.job(id).await;
            if done(&job) {
                return job;
            }
            assert!(
                start.elapsed() < within,
                "timed out waiting for {what}: {job}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn submit_noop(&self, count: u64, sleep_ms: u64, options: Value) -> Value {
        let r = self
            .post("/v1/jobs")
            .json(&serde_json::json!({"kind": "noop", "source": {"count": count, "sleep_ms": sleep_ms}, "options": options}))
            .send()
            .await
            .expect("submit");
        assert_eq!(r.status(), 202, "{:?}", r.text().await);
        r.json().await.expect("job")
    }

    /// Submits `files` (name, bytes) as one upload job; answers the job.
    pub async fn submit_files(&self, files: &[(String, Vec<u8>)], options: Value) -> Value {
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in files {
            form = form.part(
                "files",
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.clone()),
            );
        }
        form = form.text("options", options.to_string());
        let r = self
            .post("/v1/jobs")
            .multipart(form)
            .send()
            .await
            .expect("submit");
        assert_eq!(r.status(), 202, "{:?}", r.text().await);
        r.json().await.expect("job")
    }

    /// `GET /v1/jobs/{id}/items{query}` (e.g. `?state=failed`), as JSON.
    pub async fn items(&self, id: &str, query: &str) -> Value {
        let r = self
            .get(&format!("/v1/jobs/{id}/items{query}"))
            .send()
            .await
            .expect("GET items");
        assert_eq!(r.status(), 200);
        r.json().await.expect("items json")
    }

    /// Waits until the job is finished, failing after `within`.
    pub async fn finished(&self, id: &str, within: Duration) -> Value {
        self.wait(id, within, "the job to finish", |j| {
            matches!(
                j["state"].as_str(),
                Some("completed" | "failed" | "cancelled")
            )
        })
        .await
    }

    /// Every result of a job, following the stream to its end.
    pub async fn results(&self, id: &str) -> Vec<Value> {
        let r = self
            .get(&format!("/v1/jobs/{id}/results?format=ndjson"))
            .send()
            .await
            .expect("results");
        assert_eq!(r.status(), 200);
        let body = r.text().await.expect("body");
        body.lines()
            .map(|l| serde_json::from_str(l).expect("ndjson line"))
            .collect()
    }

    /// The document of a finished job's only item.
    pub async fn only_document(&self, job_id: &str) -> Value {
        let results = self.results(job_id).await;
        assert_eq!(results.len(), 1, "{results:?}");
        let id = results[0]["output"]["document_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no document: {results:?}"));
        let r = self
            .get(&format!("/v1/documents/{id}"))
            .send()
            .await
            .expect("GET document");
        assert_eq!(r.status(), 200);
        r.json().await.expect("document json")
    }

    /// Peak resident memory of the server process, in bytes (VmHWM).
    pub fn peak_rss(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("proc status");
        let kb: u64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .expect("VmHWM");
        kb * 1024
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

/// Asserts `r` is an RFC 9457 problem of `status` and `code` with a detail; answers its body.
pub async fn assert_problem(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(ct, "application/problem+json");
    let body: Value = r.json().await.expect("problem json");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
