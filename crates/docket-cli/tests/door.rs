//! What is refused at the door, before anything is stored or any item runs: a file over the
//! per-file limit (the same limit the pipeline processes up to), an upload over the user's
//! storage quota, OCR languages this server does not have, and source fields a job kind does
//! not take. Also `GET /v1/me`, which tells a user where they stand. Every test runs on SQLite
//! and on PostgreSQL.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use support::{assert_problem, on_both_backends, Backend, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const BOUNDARY: &str = "docket-door-test-boundary";

/// Files stored under the server's `uploads/`, at any depth.
fn stored_uploads(server: &Server) -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        count(&path)
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    count(&server.data_dir().join("blobs/uploads"))
}

/// Waits until `cond` holds, failing after 30 s.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a raw HTTP exchange came to: the answer, and how many body bytes had been sent when
/// it arrived.
struct Answer {
    status: u16,
    body: Value,
    sent_before_answer: u64,
}

/// POSTs a multipart upload of one file of `file_bytes` bytes over a raw connection, writing
/// the body 1 MiB at a time (chunked, or under `declared` as `Content-Length`) while reading
/// the answer; stops writing as soon as the answer is in. So a refusal that waits for the
/// whole body shows up as `sent_before_answer` near `file_bytes`.
async fn stream_upload(server: &Server, file_bytes: u64, declared: Option<u64>) -> Answer {
    let address = server.url.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let framing = match declared {
        Some(length) => format!("Content-Length: {length}"),
        None => "Transfer-Encoding: chunked".to_owned(),
    };
    let head = format!(
        "POST /v1/jobs HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{framing}\r\n\r\n",
        server.token
    );
    writer.write_all(head.as_bytes()).await.expect("head");
    let sent = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicBool::new(false));
    let chunked = declared.is_none();
    let writing = {
        let (sent, answered) = (sent.clone(), answered.clone());
        tokio::spawn(async move {
            let part_head = format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; \
                 filename=\"huge.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            );
            let block = vec![b'x'; MIB as usize];
            let mut pieces = std::iter::once(part_head.into_bytes());
            let mut left = file_bytes;
            loop {
                if answered.load(Ordering::SeqCst) {
                    return;
                }
                let piece = match pieces.next() {
                    Some(piece) => piece,
                    None if left > 0 => {
                        let n = left.min(MIB);
                        left -= n;
                        block[..n as usize].to_vec()
                    }
                    None => break,
                };
                let framed = if chunked {
                    let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
                    framed.extend_from_slice(&piece);
                    framed.extend_from_slice(b"\r\n");
                    framed
                } else {
                    piece.clone()
                };
                // The server may close the connection once it has answered.
                if writer.write_all(&framed).await.is_err() {
                    return;
                }
                sent.fetch_add(piece.len() as u64, Ordering::SeqCst);
            }
            let _ = writer.write_all(b"0\r\n\r\n").await;
        })
    };
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let (status, body) = loop {
        let n = tokio::time::timeout(Duration::from_secs(120), reader.read(&mut buf))
            .await
            .expect("an answer within 2 minutes")
            .expect("read the answer");
        assert!(n > 0, "the server closed without answering");
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).to_string();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .expect("a Content-Length on the answer");
        if body.len() < length {
            continue;
        }
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        break (
            status,
            serde_json::from_str(&body[..length]).expect("JSON body"),
        );
    };
    let sent_before_answer = sent.load(Ordering::SeqCst);
    answered.store(true, Ordering::SeqCst);
    writing.abort();
    Answer {
        status,
        body,
        sent_before_answer,
    }
}

async fn a_two_gib_file_is_refused_at_the_door(backend: Backend) {
    let server = Server::start_on(
        backend,
        &[
            ("DOCKET_MAX_FILE_BYTES", (8 * MIB).to_string()),
            ("DOCKET_WORKERS", "0".into()),
        ],
    )
    .await;

    // Streamed without a length: refused once the file passes the per-file limit, long before
    // the 2 GiB have been sent.
    let answer = stream_upload(&server, 2 * GIB, None).await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert_eq!(answer.body["code"], "payload_too_large");
    let detail = answer.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("per-file limit of 8388608 bytes") && detail.contains("huge.bin"),
        "{detail}"
    );
    assert!(
        answer.sent_before_answer < 128 * MIB,
        "the refusal came after {} MiB of a 2 GiB file",
        answer.sent_before_answer / MIB
    );
    until("the refused file's part is removed", || {
        stored_uploads(&server) == 0
    })
    .await;

    // A request that declares more than an upload may hold is refused before its body.
    let answer = stream_upload(&server, 2 * GIB, Some(2 * GIB + 200)).await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert_eq!(answer.body["code"], "payload_too_large");
    assert!(answer.sent_before_answer < 128 * MIB);

    let jobs: Value = server
        .get("/v1/jobs")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(jobs["items"], json!([]), "no job was created");
    assert_eq!(stored_uploads(&server), 0);
    // Under the limit, a file is taken as before.
    let job = server
        .submit_files(&[("small.txt".into(), vec![b'a'; 1000])], json!({}))
        .await;
    assert_eq!(job["counts"]["total"], 1);
}

/// The per-file limit is one setting: a server file over it (a folder job's files are only
/// listed at submit) fails its item with the limit named, without being read.
async fn a_server_file_over_the_per_file_limit_fails_its_item(backend: Backend) {
    let folder = tempfile::tempdir().expect("dir");
    let big = std::fs::File::create(folder.path().join("big.txt")).expect("create");
    // Sparse: 2 GiB long, nothing on disk.
    big.set_len(2 * GIB).expect("set_len");
    std::fs::write(folder.path().join("small.txt"), "fits").expect("write");
    let root = folder.path().canonicalize().expect("root");
    let server = Server::start_on(
        backend,
        &[
            ("DOCKET_MAX_FILE_BYTES", (8 * MIB).to_string()),
            ("DOCKET_ALLOWED_ROOTS", root.display().to_string()),
        ],
    )
    .await;
    let r = server
        .post("/v1/jobs")
        .json(&json!({"kind": "process", "source": {"path": root}}))
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.expect("job");
    let id = job["id"].as_str().expect("id");
    let done = server.finished(id, Duration::from_secs(60)).await;
    assert_eq!(done["counts"]["succeeded"], 1, "{done}");
    let failed = server.items(id, "?state=failed").await;
    let message = failed["items"][0]["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains(&format!(
            "the file is {} bytes; the limit is {} bytes",
            2 * GIB,
            8 * MIB
        )),
        "{message}"
    );
}

async fn me(server: &Server, token: &str) -> Value {
    let r = server
        .http
        .get(format!("{}/v1/me", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /v1/me");
    assert_eq!(r.status(), 200);
    r.json().await.expect("me json")
}

fn one_file(bytes: usize) -> Form {
    Form::new().part("files", Part::bytes(vec![b'q'; bytes]).file_name("q.txt"))
}

async fn a_storage_quota_refuses_uploads_past_it_and_frees_with_deletions(backend: Backend) {
    let server = Server::start_on(
        backend,
        &[
            ("DOCKET_STORAGE_QUOTA_BYTES", "1000".into()),
            ("DOCKET_MAX_FILE_BYTES", "5000".into()),
        ],
    )
    .await;
    let other = server.token_for("other");
    let mine = me(&server, &server.token).await;
    assert_eq!(
        mine,
        json!({"user": "local",
               "storage": {"used_bytes": 0, "quota_bytes": 1000, "available_bytes": 1000},
               "limits": {"max_file_bytes": 5000, "max_upload_bytes": 10u64 * GIB}})
    );

    let first = server
        .submit_files(&[("a.txt".into(), vec![b'a'; 600])], json!({}))
        .await;
    assert_eq!(
        me(&server, &server.token).await["storage"]["used_bytes"],
        600
    );

    // 600 more would pass the quota: refused while streaming, nothing kept.
    let r = server
        .post("/v1/jobs")
        .multipart(one_file(600))
        .send()
        .await
        .expect("submit");
    let problem = assert_problem(r, 507, "quota_exceeded").await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("quota of 1000 bytes") && detail.contains("600 bytes are used"));
    assert_eq!(
        me(&server, &server.token).await["storage"]["used_bytes"],
        600
    );

    // Another user has a quota of their own.
    let r = server
        .http
        .post(format!("{}/v1/jobs", server.url))
        .bearer_auth(&other)
        .multipart(one_file(900))
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 202);
    assert_eq!(me(&server, &other).await["storage"]["used_bytes"], 900);

    let second = server
        .post("/v1/jobs")
        .multipart(one_file(400))
        .send()
        .await
        .expect("submit");
    assert_eq!(second.status(), 202);
    assert_eq!(
        me(&server, &server.token).await["storage"]["used_bytes"],
        1000
    );
    // Full: refused at once.
    let r = server
        .post("/v1/jobs")
        .multipart(one_file(1))
        .send()
        .await
        .expect("submit");
    assert_problem(r, 507, "quota_exceeded").await;

    // Deleting a finished job gives its bytes back once its files are gone.
    let id = first["id"].as_str().expect("id");
    server.finished(id, Duration::from_secs(60)).await;
    let r = server
        .http
        .delete(format!("{}/v1/jobs/{id}", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("delete");
    assert!(r.status().is_success(), "{}", r.status());
    let start = Instant::now();
    while me(&server, &server.token).await["storage"]["used_bytes"] != 400 {
        assert!(start.elapsed() < Duration::from_secs(30), "never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = server
        .post("/v1/jobs")
        .multipart(one_file(600))
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 202);
}

async fn ocr_languages_and_source_fields_are_checked_at_submit(backend: Backend) {
    let allowed = tempfile::tempdir().expect("dir");
    std::fs::write(allowed.path().join("a.txt"), "hello").expect("write");
    let root = allowed.path().canonicalize().expect("root");
    let server = Server::start_on(
        backend,
        &[("DOCKET_ALLOWED_ROOTS", root.display().to_string())],
    )
    .await;

    // An upload naming a language that is not installed: 400 naming it, nothing stored.
    let form = Form::new()
        .text("options", r#"{"ocr": {"languages": ["eng", "klingon"]}}"#)
        .part("files", Part::bytes(b"hello".to_vec()).file_name("a.txt"));
    let r = server
        .post("/v1/jobs")
        .multipart(form)
        .send()
        .await
        .expect("submit");
    let problem = assert_problem(r, 400, "invalid_options").await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("`klingon`") && detail.contains("eng"),
        "{detail}"
    );
    // The files first and the options after them: refused the same way.
    let form = Form::new()
        .part("files", Part::bytes(b"hello".to_vec()).file_name("a.txt"))
        .text("options", r#"{"ocr": {"languages": ["xx_unknown"]}}"#);
    let r = server
        .post("/v1/jobs")
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_problem(r, 400, "invalid_options").await;
    // A folder job and a noop job too.
    for body in [
        json!({"kind": "process", "source": {"path": root}, "options": {"ocr": {"languages": ["zzz"]}}}),
        json!({"kind": "noop", "source": {"count": 1}, "options": {"ocr": {"languages": ["zzz"]}}}),
    ] {
        let r = server
            .post("/v1/jobs")
            .json(&body)
            .send()
            .await
            .expect("submit");
        let problem = assert_problem(r, 400, "invalid_options").await;
        assert!(problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("`zzz`"));
    }
    // A name that could never be a language, and two options parts.
    let form = Form::new()
        .text("options", r#"{"ocr": {"languages": ["../eng"]}}"#)
        .part("files", Part::bytes(b"hello".to_vec()).file_name("a.txt"));
    let r = server
        .post("/v1/jobs")
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_problem(r, 400, "invalid_options").await;
    let form = Form::new()
        .text("options", "{}")
        .text("options", "{}")
        .part("files", Part::bytes(b"hello".to_vec()).file_name("a.txt"));
    let r = server
        .post("/v1/jobs")
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_problem(r, 400, "invalid_options").await;
    // Source fields the kind does not take.
    for body in [
        json!({"kind": "process", "source": {"path": root, "count": 3}}),
        json!({"kind": "noop", "source": {"count": 3, "path": root}}),
    ] {
        let r = server
            .post("/v1/jobs")
            .json(&body)
            .send()
            .await
            .expect("submit");
        assert_problem(r, 400, "invalid_request").await;
    }
    let jobs: Value = server
        .get("/v1/jobs")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(jobs["items"], json!([]), "no job was created");
    until("refused uploads leave no files", || {
        stored_uploads(&server) == 0
    })
    .await;

    // An installed language is accepted, and the job runs.
    let job = server
        .submit_files(
            &[("a.txt".into(), b"hello".to_vec())],
            json!({"ocr": {"languages": ["eng"]}}),
        )
        .await;
    let done = server
        .finished(job["id"].as_str().expect("id"), Duration::from_secs(60))
        .await;
    assert_eq!(done["counts"]["succeeded"], 1, "{done}");
}

on_both_backends!(
    a_two_gib_file_is_refused_at_the_door,
    a_server_file_over_the_per_file_limit_fails_its_item,
    a_storage_quota_refuses_uploads_past_it_and_frees_with_deletions,
    ocr_languages_and_source_fields_are_checked_at_submit,
);
