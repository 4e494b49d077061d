//! A moto S3 server on loopback for tests (shared with docket-cli's tests by path).
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use docket_blobs::Blobs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const INSTALL: &str = "python3 -m pip install 'moto[server]'";
const STARTUP: Duration = Duration::from_secs(30);

/// A `moto_server` child process on 127.0.0.1, killed on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
    log: tempfile::NamedTempFile,
}

impl Moto {
    pub async fn start() -> Moto {
        // `moto_server` is the console script; `python3 -m moto.server` is the same server when
        // pip put the script off PATH (or a pyenv shim points at a Python without it).
        const COMMANDS: [&[&str]; 2] = [&["moto_server"], &["python3", "-m", "moto.server"]];
        let mut failures = Vec::new();
        for attempt in 1..=3 {
            failures.clear();
            for command in COMMANDS {
                match Moto::try_start(command).await {
                    Ok(moto) => return moto,
                    Err(why) => failures.push(format!("`{}`: {why}", command.join(" "))),
                }
            }
            // Retry only if another process took the port between our probe and the bind.
            if attempt == 3 || !failures.iter().any(|f| f.contains("in use")) {
                break;
            }
        }
        panic!(
            "could not start the S3 test server (moto). Install it with:\n    {INSTALL}\n\
             (scripts/test.sh does this).\n{}",
            failures.join("\n")
        );
    }

    /// Starts the server and waits until it answers HTTP; on failure says why, with its output.
    async fn try_start(command: &[&str]) -> Result<Moto, String> {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(command[0])
            .args(&command[1..])
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .map_err(|e| format!("cannot run it: {e}"))?;
        let mut moto = Moto { child, port, log };
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Some(status) = moto.child.try_wait().unwrap() {
                return Err(format!("exited with {status}:\n{}", moto.output()));
            }
            // Only our moto's own answer counts: when another process took the port first
            // (our moto then fails with "in use"), whatever listens there answers too.
            if let Ok((200, _, body)) = moto.http("GET", "/").await {
                if body.contains("ListAllMyBucketsResult")
                    && moto.child.try_wait().unwrap().is_none()
                {
                    return Ok(moto);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no answer on 127.0.0.1:{port} within {STARTUP:?}:\n{}",
                    moto.output()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn output(&self) -> String {
        let mut s = String::new();
        let _ = self.log.reopen().and_then(|mut f| f.read_to_string(&mut s));
        s
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points a `docket` process's blobs at `s3://{bucket}/blobs` here.
    pub fn docket_env(&self, bucket: &str) -> Vec<(&'static str, String)> {
        vec![
            ("DOCKET_BLOBS", format!("s3://{bucket}/blobs")),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "docket-test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "docket-test".to_string()),
        ]
    }

    /// A bodiless HTTP/1.1 request, unsigned (moto accepts those): (status, head, body).
    pub async fn http(&self, method: &str, path: &str) -> std::io::Result<(u16, String, String)> {
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.port
        );
        conn.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut response))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no response"))??;
        let response = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head
            .strip_prefix("HTTP/1.")
            .and_then(|s| s.get(2..5))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok((status, head.to_string(), body.to_string()))
    }

    pub async fn create_bucket(&self, bucket: &str) {
        let (status, head, body) = self.http("PUT", &format!("/{bucket}")).await.unwrap();
        assert_eq!(status, 200, "creating bucket {bucket}: {head}\n{body}");
    }

    /// `Blobs` on `s3://bucket/some/prefix`, configured for this server and nothing else.
    pub fn blobs(&self, bucket: &str) -> Blobs {
        let endpoint = self.endpoint();
        Blobs::open_with(
            &format!("s3://{bucket}/some/prefix"),
            &[
                ("aws_endpoint", &endpoint),
                ("aws_allow_http", "true"),
                ("aws_region", "us-east-1"),
                ("aws_access_key_id", "docket-test"),
                ("aws_secret_access_key", "docket-test"),
                ("aws_virtual_hosted_style_request", "false"),
            ],
        )
        .unwrap()
    }

    /// Keys in the bucket (raw S3 listing, so the prefix is visible).
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let (status, _, body) = self
            .http("GET", &format!("/{bucket}?list-type=2"))
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        elements(&body, "Key")
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub async fn pending_uploads(&self, bucket: &str) -> Vec<String> {
        let (status, _, body) = self
            .http("GET", &format!("/{bucket}?uploads"))
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        elements(&body, "UploadId")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The text of every `<tag>…</tag>` in `xml`.
pub fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|s| s.split_once(&close).map(|(v, _)| v.to_string()))
        .collect()
}
