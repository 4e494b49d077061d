//! Resumable (tus) uploads to a server whose blobs are in S3-compatible object storage (moto on
//! loopback), on SQLite and PostgreSQL: a stock client (tuspy) killed mid-file and finished by a
//! new process, with chunks that do not line up with the 8 MiB parts; a checksum mismatch that
//! stores nothing; one PATCH at a time per upload; a terminated upload that leaves no multipart upload behind; and `docket
//! submit`, which sends every file with tus.

mod support;
#[path = "support/tus_client.rs"]
mod tus_client;

#[path = "../../docket-blobs/tests/support/moto.rs"]
mod moto;

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{on_both_backends, Backend, Server};
use tus_client::{offset, path_of, submit_and_check, write_file, Client, Upload};

const MIB: usize = 1024 * 1024;

async fn s3_server(backend: Backend) -> (moto::Moto, Server) {
    let s3 = moto::Moto::start().await;
    s3.create_bucket("docket").await;
    let env = s3.docket_env("docket");
    let server = Server::start_on(backend, &env).await;
    (s3, server)
}

/// The keys under one upload's prefix in the bucket.
async fn upload_keys(s3: &moto::Moto, upload_path: &str) -> Vec<String> {
    let id = upload_path.rsplit('/').next().expect("upload id");
    let prefix = format!(
        "blobs/{}",
        docket_core::blob_keys::resumable_upload_prefix(id)
    );
    let mut keys: Vec<String> = s3
        .keys("docket")
        .await
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect();
    keys.sort();
    keys
}

async fn tuspy_killed_mid_file_on_s3_is_finished_by_a_new_process(backend: Backend) {
    let (s3, server) = s3_server(backend).await;
    // 21 MiB and a bit, in 3 MiB chunks: parts of 8 MiB fill across PATCHes, and every PATCH
    // but a few leaves bytes staged for the next.
    let size = 21 * MIB + 12_345;
    let (file, data) = write_file(server.path(), "big-scan.txt", size);
    let mut upload = Upload {
        client: Client::Tuspy,
        endpoint: format!("{}/v1/uploads", server.url),
        token: &server.token,
        file: &file,
        chunk: 3 * MIB,
        url: None,
        delay_ms: 400,
        checksum: "sha256",
    };
    let first = upload.start();
    let url = first.line("url ", Duration::from_secs(30));
    let path = path_of(&url);
    // Past the first full part, well before the end: kill it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let at = offset(&server, &server.token, &path).await.expect("HEAD");
        if at >= 9 * MIB as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "the client never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill_9();
    // The killed client's last PATCH may still be ending on the server (a part on its way to
    // S3), and may yet move the offset. An empty PATCH is served only once the upload is let
    // go, and only at its current offset: after a 204 the offset is the one the next client
    // will be told.
    let deadline = Instant::now() + Duration::from_secs(30);
    let reported = loop {
        let at = offset(&server, &server.token, &path).await.expect("HEAD");
        let (status, _) = patch(&server, &path, at, Vec::new(), &Sha256::digest(b"")).await;
        if status == 204 {
            break at;
        }
        assert_eq!(status, 409, "an empty PATCH at {at}");
        assert!(
            Instant::now() < deadline,
            "the killed client's PATCH never ended"
        );
    };
    assert!(reported < size as u64, "killed mid-file: {reported}");
    assert_eq!(
        s3.pending_uploads("docket").await.len(),
        1,
        "the upload is one S3 multipart upload"
    );

    upload.url = Some(url);
    upload.delay_ms = 0;
    let second = upload.start();
    second.line("done ", Duration::from_secs(120));
    assert_eq!(second.exit_code(), 0);
    assert_eq!(offset(&server, &server.token, &path).await, Ok(size as u64));
    // One object, whole; no staged bytes and no open multipart upload left behind.
    let id = path.rsplit('/').next().expect("upload id");
    assert_eq!(
        upload_keys(&s3, &path).await,
        [format!(
            "blobs/{}",
            docket_core::blob_keys::resumable_upload(id)
        )]
    );
    assert!(s3.pending_uploads("docket").await.is_empty());
    submit_and_check(&server, &path, &data, "big-scan.txt").await;
}

async fn patch(server: &Server, path: &str, at: u64, body: Vec<u8>, sha: &[u8]) -> (u16, u64) {
    use base64::Engine as _;
    let r = server
        .http
        .request(Method::PATCH, format!("{}{path}", server.url))
        .bearer_auth(&server.token)
        .header("tus-resumable", "1.0.0")
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", at.to_string())
        .header(
            "upload-checksum",
            format!(
                "sha256 {}",
                base64::engine::general_purpose::STANDARD.encode(sha)
            ),
        )
        .body(body)
        .send()
        .await
        .expect("PATCH");
    let status = r.status().as_u16();
    let offset = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (status, offset)
}

async fn create(server: &Server, length: usize) -> String {
    let r = server
        .http
        .post(format!("{}/v1/uploads", server.url))
        .bearer_auth(&server.token)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", length.to_string())
        .header("upload-metadata", "filename bm90ZXMudHh0")
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().expect("ascii").to_string();
    path_of(&location)
}

async fn a_wrong_checksum_on_s3_stores_nothing_and_termination_leaves_nothing(backend: Backend) {
    let (s3, server) = s3_server(backend).await;
    let (_, data) = write_file(server.path(), "notes.txt", 10 * MIB + 7);
    let path = create(&server, data.len()).await;

    // 9 MiB (a whole part and some) that do not match their checksum: nothing counts.
    let first = data[..9 * MIB].to_vec();
    let (status, _) = patch(&server, &path, 0, first.clone(), &[0u8; 32]).await;
    assert_eq!(status, 460);
    assert_eq!(offset(&server, &server.token, &path).await, Ok(0));

    let (status, at) = patch(&server, &path, 0, first.clone(), &Sha256::digest(&first)).await;
    assert_eq!((status, at), (204, 9 * MIB as u64));
    // A PATCH from a stale offset is refused and changes nothing.
    let (status, _) = patch(&server, &path, 0, first.clone(), &Sha256::digest(&first)).await;
    assert_eq!(status, 409);
    let rest = data[9 * MIB..].to_vec();
    let (status, at) = patch(
        &server,
        &path,
        9 * MIB as u64,
        rest.clone(),
        &Sha256::digest(&rest),
    )
    .await;
    assert_eq!((status, at), (204, data.len() as u64));
    submit_and_check(&server, &path, &data, "notes.txt").await;

    // An unfinished upload, terminated: its multipart upload is aborted, its staged bytes go.
    let path = create(&server, 12 * MIB).await;
    let part = data[..MIB].to_vec();
    let (status, _) = patch(&server, &path, 0, part.clone(), &Sha256::digest(&part)).await;
    assert_eq!(status, 204);
    assert_eq!(upload_keys(&s3, &path).await.len(), 1, "the staged bytes");
    assert_eq!(s3.pending_uploads("docket").await.len(), 1);
    let r = server
        .http
        .delete(format!("{}{path}", server.url))
        .bearer_auth(&server.token)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status(), 204);
    assert!(upload_keys(&s3, &path).await.is_empty());
    assert!(s3.pending_uploads("docket").await.is_empty());
}

/// A PATCH on object storage holds its upload until it ends: a second one meanwhile gets 409
/// (and writes nothing), whichever process serves it; once the first ends, the next goes on.
async fn one_patch_at_a_time_holds_an_upload_on_s3(backend: Backend) {
    let (_s3, server) = s3_server(backend).await;
    let (_, data) = write_file(server.path(), "held.txt", 3 * MIB);
    let path = create(&server, data.len()).await;

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let first = tokio::spawn({
        let http = server.http.clone();
        let url = format!("{}{path}", server.url);
        let token = server.token.clone();
        async move {
            http.patch(url)
                .bearer_auth(token)
                .header("tus-resumable", "1.0.0")
                .header("content-type", "application/offset+octet-stream")
                .header("upload-offset", "0")
                .header("content-length", MIB.to_string())
                .body(body)
                .send()
                .await
                .expect("the first PATCH")
                .status()
                .as_u16()
        }
    });
    tx.send(Ok(data[..MIB / 2].to_vec())).await.expect("send");
    // An empty PATCH is answered 204 while the upload is free, 409 once the first holds it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = patch(&server, &path, 0, Vec::new(), &Sha256::digest(b"")).await;
        if status == 409 {
            break;
        }
        assert_eq!(status, 204);
        assert!(
            Instant::now() < deadline,
            "the first PATCH never held the upload"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let part = data[..MIB].to_vec();
    let (status, _) = patch(&server, &path, 0, part, &Sha256::digest(&data[..MIB])).await;
    assert_eq!(
        status, 409,
        "a second PATCH with data while the first holds it"
    );
    tx.send(Ok(data[MIB / 2..MIB].to_vec()))
        .await
        .expect("send");
    drop(tx);
    assert_eq!(first.await.expect("first"), 204);
    assert_eq!(offset(&server, &server.token, &path).await, Ok(MIB as u64));
    let rest = data[MIB..].to_vec();
    let (status, at) = patch(
        &server,
        &path,
        MIB as u64,
        rest.clone(),
        &Sha256::digest(&rest),
    )
    .await;
    assert_eq!(
        (status, at),
        (204, data.len() as u64),
        "released once the first ended"
    );
    submit_and_check(&server, &path, &data, "notes.txt").await;
}

async fn docket_submit_uploads_to_an_s3_server_with_tus(backend: Backend) {
    let (s3, server) = s3_server(backend).await;
    let files = tempfile::tempdir().expect("temp dir");
    let state = tempfile::tempdir().expect("state dir");
    let mut expected = Vec::new();
    for (name, size) in [("a.txt", 9 * MIB + 3), ("b.txt", 2_000), ("c.txt", 0)] {
        let (_, data) = write_file(files.path(), name, size);
        if size > 0 {
            expected.push((name, hex::encode(Sha256::digest(&data))));
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_docket"))
        .env("DOCKET_SERVER", &server.url)
        .env("DOCKET_TOKEN", &server.token)
        .env("DOCKET_STATE_DIR", state.path())
        .env_remove("DOCKET_DATABASE_URL")
        .args(["--json", "submit"])
        .arg(files.path())
        .output()
        .expect("docket submit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: Value = serde_json::from_slice(&out.stdout).expect("job JSON");
    let id = job["id"].as_str().expect("job id");
    let done = server.finished(id, Duration::from_secs(60)).await;
    // The empty file arrives whole too (an empty object), and fails as empty files do.
    assert_eq!(
        (&done["counts"]["succeeded"], &done["counts"]["failed"]),
        (&Value::from(2), &Value::from(1)),
        "{done}"
    );
    let items: Value = server
        .get(&format!("/v1/jobs/{id}/items"))
        .send()
        .await
        .expect("items")
        .json()
        .await
        .expect("items JSON");
    let empty = items["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["name"] == "c.txt"))
        .expect("the empty file's item");
    assert_eq!(empty["errors"][0]["message"], "empty file", "{empty}");
    let mut got = Vec::new();
    for result in server.results(id).await {
        let Some(doc) = result["output"]["document_id"].as_str() else {
            continue;
        };
        let doc: Value = server
            .get(&format!("/v1/documents/{doc}"))
            .send()
            .await
            .expect("document")
            .json()
            .await
            .expect("document JSON");
        got.push((
            doc["name"].as_str().unwrap_or_default().to_string(),
            doc["sha256"].as_str().unwrap_or_default().to_string(),
        ));
    }
    got.sort();
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(n, h)| (n.to_string(), h))
        .collect();
    assert_eq!(got, expected);
    assert!(s3.pending_uploads("docket").await.is_empty());
}

on_both_backends!(
    tuspy_killed_mid_file_on_s3_is_finished_by_a_new_process,
    a_wrong_checksum_on_s3_stores_nothing_and_termination_leaves_nothing,
    one_patch_at_a_time_holds_an_upload_on_s3,
    docket_submit_uploads_to_an_s3_server_with_tus,
);
