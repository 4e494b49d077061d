//! Uploads are streamed to storage, never held in memory: a 1 GiB upload keeps the server's
//! peak resident memory under 150 MB.
//!
//! On SQLite only: what is measured is the server streaming the body to the blob store; the
//! database sees one small row either way, and a second 1 GiB upload would double the time.

mod support;

use bytes::Bytes;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use support::Server;

const GIB: u64 = 1 << 30;
const LIMIT: u64 = 150 * 1000 * 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_gib_upload_keeps_rss_under_150_mb() {
    // No workers: what is measured is the upload alone. (A file is processed only up to the
    // same per-file limit, which `door.rs` shows is enforced at upload.)
    let server = Server::start(&[
        ("DOCKET_UPLOAD_LIMIT_BYTES", (2 * GIB).to_string()),
        ("DOCKET_MAX_FILE_BYTES", (2 * GIB).to_string()),
        ("DOCKET_WORKERS", "0".into()),
    ]);
    let chunk = Bytes::from(vec![b'x'; 1 << 20]);
    let chunks =
        futures::stream::iter((0..1024).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let part =
        Part::stream_with_length(reqwest::Body::wrap_stream(chunks), GIB).file_name("huge.txt");
    let response = server
        .post("/v1/jobs")
        .multipart(Form::new().part("files", part))
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await.expect("job");
    let key = docket_core::blob_keys::upload(job["id"].as_str().unwrap(), 0);
    let stored = std::fs::metadata(server.data_dir().join("blobs").join(key))
        .expect("the upload is on disk");
    assert_eq!(stored.len(), GIB);
    let after_upload = server.peak_rss();
    eprintln!(
        "peak RSS after a 1 GiB upload: {} MB",
        after_upload / 1_000_000
    );
    assert!(after_upload < LIMIT, "peak RSS {after_upload} bytes");
}
