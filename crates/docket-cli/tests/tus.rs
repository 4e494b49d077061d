//! Resumable uploads (tus 1.0 under `/v1/uploads`) over real HTTP against a real
//! `docket serve`, on SQLite and PostgreSQL: the protocol's answers, the refusals, expiry,
//! submitting finished uploads, and a `kill -9` of the server mid-upload.

mod support;

use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::{Method, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{on_both_backends, Backend, Server};

const TUS: &str = "1.0.0";
const OFFSET_STREAM: &str = "application/offset+octet-stream";

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn content(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| b"abcdefghij klmnopqrstuvwxyz\n"[(i + seed as usize) % 28])
        .collect()
}

struct Tus<'a> {
    server: &'a Server,
    token: String,
}

impl<'a> Tus<'a> {
    fn new(server: &'a Server) -> Tus<'a> {
        Tus {
            server,
            token: server.token.clone(),
        }
    }

    fn as_user(server: &'a Server, token: String) -> Tus<'a> {
        Tus { server, token }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.server
            .http
            .request(method, format!("{}{path}", self.server.url))
            .bearer_auth(&self.token)
            .header("tus-resumable", TUS)
    }

    /// Creates an upload of `length` bytes named `name`; answers its path.
    async fn create(&self, length: usize, name: &str) -> String {
        let r = self
            .request(Method::POST, "/v1/uploads")
            .header("upload-length", length.to_string())
            .header(
                "upload-metadata",
                format!("filename {},filetype {}", b64(name), b64("text/plain")),
            )
            .send()
            .await
            .expect("POST /v1/uploads");
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        assert_eq!(header(&r, "tus-resumable"), TUS);
        assert!(!header(&r, "upload-expires").is_empty());
        let location = header(&r, "location");
        assert!(location.starts_with("/v1/uploads/upl_"), "{location}");
        location
    }

    async fn head(&self, path: &str) -> Response {
        self.request(Method::HEAD, path)
            .send()
            .await
            .expect("HEAD upload")
    }

    async fn offset(&self, path: &str) -> u64 {
        let r = self.head(path).await;
        assert_eq!(r.status(), 200);
        header(&r, "upload-offset").parse().expect("Upload-Offset")
    }

    async fn patch(&self, path: &str, offset: usize, bytes: &[u8]) -> Response {
        self.request(Method::PATCH, path)
            .header("content-type", OFFSET_STREAM)
            .header("upload-offset", offset.to_string())
            .body(bytes.to_vec())
            .send()
            .await
            .expect("PATCH upload")
    }

    /// Sends `bytes` from `offset` in PATCHes of `chunk` bytes, each acknowledged.
    async fn send_from(&self, path: &str, bytes: &[u8], mut offset: usize, chunk: usize) {
        while offset < bytes.len() {
            let end = (offset + chunk).min(bytes.len());
            let r = self.patch(path, offset, &bytes[offset..end]).await;
            assert_eq!(r.status(), 204, "{:?}", r.text().await);
            assert_eq!(header(&r, "upload-offset"), end.to_string());
            offset = end;
        }
    }
}

async fn problem(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    if r.url().path().starts_with("/v1/uploads") {
        assert_eq!(
            header(&r, "tus-resumable"),
            TUS,
            "every tus answer says tus"
        );
    }
    let body: Value = r.json().await.expect("problem json");
    assert_eq!(body["code"], code, "{body}");
    body
}

fn id_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

async fn submit_uploads(server: &Server, token: &str, ids: &[&str]) -> Response {
    server
        .http
        .post(format!("{}/v1/jobs", server.url))
        .bearer_auth(token)
        .json(&json!({"kind": "process", "source": {"uploads": ids}}))
        .send()
        .await
        .expect("submit uploads")
}

async fn options_advertise_the_extensions_and_versions_are_checked(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let r = server
        .http
        .request(Method::OPTIONS, format!("{}/v1/uploads", server.url))
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "tus-version"), TUS);
    assert_eq!(header(&r, "tus-resumable"), TUS);
    let extensions = header(&r, "tus-extension");
    for ext in [
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    ] {
        assert!(extensions.split(',').any(|e| e == ext), "{extensions}");
    }
    assert_eq!(header(&r, "tus-checksum-algorithm"), "sha256");
    assert_eq!(header(&r, "tus-max-size"), (10u64 << 30).to_string());

    // Without Tus-Resumable, or with another version: 412, naming the version spoken.
    for version in [None, Some("0.2.2")] {
        let mut request = server.post("/v1/uploads").header("upload-length", "10");
        if let Some(v) = version {
            request = request.header("tus-resumable", v);
        }
        let r = request.send().await.expect("POST");
        assert_eq!(header(&r, "tus-version"), TUS);
        problem(r, 412, "tus_version_unsupported").await;
    }
}

async fn an_upload_is_appended_at_its_offset_and_refusals_store_nothing(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let tus = Tus::new(&server);
    let data = content(300_000, 1);
    let path = tus.create(data.len(), "notes.txt").await;

    let r = tus.head(&path).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "upload-offset"), "0");
    assert_eq!(header(&r, "upload-length"), data.len().to_string());
    assert_eq!(header(&r, "cache-control"), "no-store");
    assert!(header(&r, "upload-metadata").contains(&b64("notes.txt")));

    let r = tus.patch(&path, 0, &data[..100_000]).await;
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "upload-offset"), "100000");

    // A wrong offset: 409, nothing appended.
    let r = tus.patch(&path, 0, &data[..10]).await;
    problem(r, 409, "offset_mismatch").await;
    // A checksum that does not match: 460, nothing appended.
    let wrong = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"other"));
    let r = tus
        .request(Method::PATCH, &path)
        .header("content-type", OFFSET_STREAM)
        .header("upload-offset", "100000")
        .header("upload-checksum", format!("sha256 {wrong}"))
        .body(data[100_000..150_000].to_vec())
        .send()
        .await
        .expect("PATCH");
    problem(r, 460, "checksum_mismatch").await;
    // An algorithm this server does not speak: 400.
    let r = tus
        .request(Method::PATCH, &path)
        .header("content-type", OFFSET_STREAM)
        .header("upload-offset", "100000")
        .header("upload-checksum", "md5 AAAA")
        .body(data[100_000..150_000].to_vec())
        .send()
        .await
        .expect("PATCH");
    problem(r, 400, "invalid_request").await;
    // The wrong content type: 415.
    let r = tus
        .request(Method::PATCH, &path)
        .header("content-type", "application/octet-stream")
        .header("upload-offset", "100000")
        .body(data[100_000..150_000].to_vec())
        .send()
        .await
        .expect("PATCH");
    problem(r, 415, "unsupported_media_type").await;
    assert_eq!(tus.offset(&path).await, 100_000, "no refusal stored a byte");

    // A matching checksum is accepted.
    let right =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&data[100_000..150_000]));
    let r = tus
        .request(Method::PATCH, &path)
        .header("content-type", OFFSET_STREAM)
        .header("upload-offset", "100000")
        .header("upload-checksum", format!("sha256 {right}"))
        .body(data[100_000..150_000].to_vec())
        .send()
        .await
        .expect("PATCH");
    assert_eq!(r.status(), 204);
    // More than the length: 413, nothing appended.
    let mut past = data[150_000..].to_vec();
    past.push(b'!');
    problem(
        tus.patch(&path, 150_000, &past).await,
        413,
        "payload_too_large",
    )
    .await;
    assert_eq!(tus.offset(&path).await, 150_000);

    // Another user sees nothing of it.
    let bob = Tus::as_user(&server, server.token_for("bob"));
    let r = bob.head(&path).await;
    assert_eq!(r.status(), 404, "HEAD answers without a body");
    assert_eq!(header(&r, "tus-resumable"), TUS);
    problem(
        bob.patch(&path, 150_000, &data[150_000..]).await,
        404,
        "not_found",
    )
    .await;
    let r = bob
        .request(Method::DELETE, &path)
        .send()
        .await
        .expect("DELETE");
    problem(r, 404, "not_found").await;

    // Unfinished, it cannot be submitted (400, naming it); finished, it can, once.
    let id = id_of(&path).to_string();
    let body = problem(
        submit_uploads(&server, &server.token, &[&id]).await,
        400,
        "upload_incomplete",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap_or_default().contains(&id),
        "{body}"
    );
    tus.send_from(&path, &data, 150_000, 64 * 1024).await;
    assert_eq!(tus.offset(&path).await, data.len() as u64);
    let body = problem(
        submit_uploads(&server, &bob.token, &[&id]).await,
        404,
        "not_found",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap_or_default().contains(&id),
        "{body}"
    );

    let r = submit_uploads(&server, &server.token, &[&id]).await;
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    let job: Value = r.json().await.expect("job");
    let job_id = job["id"].as_str().expect("job id").to_string();
    let done = server.finished(&job_id, Duration::from_secs(60)).await;
    assert_eq!(done["counts"]["succeeded"], 1, "{done}");
    let document = server.only_document(&job_id).await;
    assert_eq!(document["name"], "notes.txt");
    assert_eq!(document["sha256"], hex::encode(Sha256::digest(&data)));
    assert_eq!(document["size"], data.len());
    problem(
        submit_uploads(&server, &server.token, &[&id]).await,
        409,
        "upload_consumed",
    )
    .await;
}

async fn creation_with_upload_termination_and_size_limits(backend: Backend) {
    let server =
        Server::start_on(backend, &[("DOCKET_UPLOAD_LIMIT_BYTES", "1000000".into())]).await;
    let tus = Tus::new(&server);
    // Too large: refused at creation, before any byte is stored.
    let r = tus
        .request(Method::POST, "/v1/uploads")
        .header("upload-length", "1000001")
        .send()
        .await
        .expect("POST");
    problem(r, 413, "payload_too_large").await;
    let r = tus
        .request(Method::POST, "/v1/uploads")
        .header("upload-defer-length", "1")
        .send()
        .await
        .expect("POST");
    problem(r, 400, "invalid_request").await;
    let r = tus
        .request(Method::POST, "/v1/uploads")
        .header("upload-length", "10")
        .header("upload-metadata", "filename !!notbase64")
        .send()
        .await
        .expect("POST");
    problem(r, 400, "invalid_request").await;

    // Creation with upload: the first bytes ride on the POST.
    let data = content(5000, 3);
    let r = tus
        .request(Method::POST, "/v1/uploads")
        .header("upload-length", "5000")
        .header("content-type", OFFSET_STREAM)
        .body(data[..2000].to_vec())
        .send()
        .await
        .expect("POST with upload");
    assert_eq!(r.status(), 201);
    assert_eq!(header(&r, "upload-offset"), "2000");
    let path = header(&r, "location");
    assert_eq!(tus.offset(&path).await, 2000);

    // Termination: 204, then the upload is gone for every request; its bytes too.
    let blob = server.data_dir().join("blobs/resumable").join(id_of(&path));
    assert!(blob.join("data").exists());
    let r = tus
        .request(Method::DELETE, &path)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "tus-resumable"), TUS);
    let status = tus.head(&path).await.status().as_u16();
    assert!(status == 404 || status == 410, "{status}");
    let status = tus
        .patch(&path, 2000, &data[2000..])
        .await
        .status()
        .as_u16();
    assert!(status == 404 || status == 410, "{status}");
    wait_until(
        Duration::from_secs(20),
        "the terminated upload's bytes to go",
        || !blob.exists(),
    )
    .await;
}

/// The per-file limit and the storage quota are refused at `POST`, before a byte is stored;
/// open uploads count against the quota with their whole length, and a terminated one frees
/// its share.
async fn per_file_limit_and_quota_are_refused_at_creation(backend: Backend) {
    let server = Server::start_on(
        backend,
        &[
            ("DOCKET_MAX_FILE_BYTES", "4000".into()),
            ("DOCKET_STORAGE_QUOTA_BYTES", "6000".into()),
        ],
    )
    .await;
    let tus = Tus::new(&server);
    let post = |length: usize| {
        tus.request(Method::POST, "/v1/uploads")
            .header("upload-length", length.to_string())
            .send()
    };
    let refused = problem(post(4001).await.expect("POST"), 413, "payload_too_large").await;
    assert!(
        refused["detail"].as_str().unwrap().contains("per-file"),
        "{refused}"
    );
    let first = tus.create(4000, "a.bin").await;
    // 4000 of 6000 are claimed by the open upload: another 4000 is past the quota.
    let refused = problem(post(4000).await.expect("POST"), 507, "quota_exceeded").await;
    assert!(
        refused["detail"].as_str().unwrap().contains("6000"),
        "{refused}"
    );
    let r = tus
        .request(Method::DELETE, &first)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status(), 204);
    tus.create(4000, "b.bin").await;
    // Another user has a quota of their own.
    let other = Tus::as_user(&server, server.token_for("other"));
    other.create(4000, "c.bin").await;
}

async fn unused_uploads_expire_and_are_removed(backend: Backend) {
    let server = Server::start_on(backend, &[("DOCKET_UPLOADS_EXPIRY_SECONDS", "2".into())]).await;
    let tus = Tus::new(&server);
    let data = content(1000, 4);
    let path = tus.create(data.len(), "stale.txt").await;
    let r = tus.patch(&path, 0, &data[..500]).await;
    assert_eq!(r.status(), 204);
    let expires = httpdate::parse_http_date(&header(&r, "upload-expires")).expect("HTTP date");
    assert!(expires > std::time::SystemTime::now());
    let blob = server.data_dir().join("blobs/resumable").join(id_of(&path));
    assert!(blob.exists());
    // Past its expiry: refused (410, then 404 once the cleaner removed it), bytes gone.
    wait_until(
        Duration::from_secs(30),
        "the upload to expire and go",
        || !blob.exists(),
    )
    .await;
    let r = tus.head(&path).await;
    assert!(matches!(r.status().as_u16(), 404 | 410), "{}", r.status());
    let status = tus.patch(&path, 500, &data[500..]).await.status().as_u16();
    assert!(status == 404 || status == 410, "{status}");
}

async fn a_server_killed_mid_upload_loses_nothing_it_acknowledged(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let tus = Tus::new(&server);
    let data = content(3_000_000, 5);
    let path = tus.create(data.len(), "big.txt").await;
    tus.send_from(&path, &data[..1_000_000], 0, 250_000).await;
    assert_eq!(tus.offset(&path).await, 1_000_000);

    // A PATCH in flight when the server dies: half its body sent, the rest never comes.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let url = format!("{}{path}", server.url);
    let in_flight = tokio::spawn({
        let http = server.http.clone();
        let token = server.token.clone();
        async move {
            http.patch(url)
                .bearer_auth(token)
                .header("tus-resumable", TUS)
                .header("content-type", OFFSET_STREAM)
                .header("upload-offset", "1000000")
                .header("content-length", "1000000")
                .body(body)
                .send()
                .await
        }
    });
    tx.send(Ok(data[1_000_000..1_400_000].to_vec()))
        .await
        .expect("send half");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let database: Vec<(&str, String)> = server
        .database_url
        .clone()
        .map(|url| vec![("DOCKET_DATABASE_URL", url)])
        .unwrap_or_default();
    let dir = server.kill_9();
    let _ = in_flight.await;
    drop(tx);

    let server = Server::start_in(dir, &database);
    let tus = Tus::new(&server);
    let offset = tus.offset(&path).await as usize;
    assert!(
        offset >= 1_000_000,
        "an acknowledged byte was lost: {offset}"
    );
    tus.send_from(&path, &data, offset, 400_000).await;
    let id = id_of(&path).to_string();
    let r = submit_uploads(&server, &server.token, &[&id]).await;
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    let job: Value = r.json().await.expect("job");
    let job_id = job["id"].as_str().expect("id").to_string();
    server.finished(&job_id, Duration::from_secs(60)).await;
    let document = server.only_document(&job_id).await;
    assert_eq!(document["sha256"], hex::encode(Sha256::digest(&data)));
}

/// A stale offset is refused before the body is read. A client still sending that body (here
/// 32 MiB) must get the 409, not a connection reset halfway through its upload.
async fn a_refused_patch_still_sending_its_body_gets_its_answer(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let tus = Tus::new(&server);
    let data = content(300_000, 2);
    let path = tus.create(data.len(), "notes.txt").await;
    tus.send_from(&path, &data[..100_000], 0, 100_000).await;

    // Sent at once: the refusal finds most of it still unread in the socket.
    let r = tus
        .request(Method::PATCH, &path)
        .header("content-type", OFFSET_STREAM)
        .header("upload-offset", "0")
        .body(vec![b'x'; 32 << 20])
        .send()
        .await
        .expect("the refusal arrives, not a reset connection");
    problem(r, 409, "offset_mismatch").await;
    assert_eq!(tus.offset(&path).await, 100_000);
}

async fn wait_until(within: Duration, what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

on_both_backends!(
    options_advertise_the_extensions_and_versions_are_checked,
    an_upload_is_appended_at_its_offset_and_refusals_store_nothing,
    creation_with_upload_termination_and_size_limits,
    per_file_limit_and_quota_are_refused_at_creation,
    unused_uploads_expire_and_are_removed,
    a_server_killed_mid_upload_loses_nothing_it_acknowledged,
    a_refused_patch_still_sending_its_body_gets_its_answer,
);
