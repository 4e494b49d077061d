//! Files at rest: everything a real `docket serve` writes — the data directory, the database
//! and SQLite's `-wal`/`-shm`, blobs and their directories, the token and the webhook secret —
//! is readable by its own account only, even under a permissive umask and in a data directory
//! an older version left world-readable. A document's name loses its bidi controls on the way
//! in, so neither the API nor a download shows a name that reads as something else.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use support::{on_both_backends, Backend, Server};

/// Every file and directory under `root` with group or other access, with its mode.
fn open_to_others(root: &Path) -> Vec<(String, u32)> {
    let mut loose = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).expect("stat");
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            loose.push((path.display().to_string(), mode));
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read_dir") {
                stack.push(entry.expect("entry").path());
            }
        }
    }
    loose
}

async fn data_files_are_private_and_names_show_as_they_are(backend: Backend) {
    // The server inherits this umask: without its own, it would write 0644 files.
    // SAFETY: umask(2) only sets this process's creation mask.
    unsafe {
        libc::umask(0o022);
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();

    let server = Server::start_on_in(backend, dir, &[]).await;
    let job = server
        .submit_files(
            &[(
                "report\u{202e}txt.exe".into(),
                b"quarterly figures".to_vec(),
            )],
            json!({}),
        )
        .await;
    let id = job["id"].as_str().unwrap().to_string();
    let done = server.finished(&id, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "completed", "{done}");

    let data = server.data_dir();
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for file in ["token", "webhook_secret"] {
        assert!(data.join(file).exists(), "{file}");
    }
    if matches!(backend, Backend::Sqlite) {
        for file in ["docket.db", "docket.db-wal", "docket.db-shm"] {
            assert!(data.join(file).exists(), "{file}");
        }
    }
    assert!(data.join("blobs").is_dir());
    let loose = open_to_others(&data);
    assert!(loose.is_empty(), "readable by others: {loose:?}");

    // The name as stored, listed and downloaded.
    let items = server.items(&id, "").await;
    assert_eq!(items["items"][0]["name"], "reporttxt.exe", "{items}");
    let document = items["items"][0]["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let file = server
        .get(&format!("/v1/documents/{document}/file"))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    let disposition = file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!disposition.contains("%E2%80%AE"), "{disposition}");
    assert!(disposition.contains("reporttxt.exe"), "{disposition}");
}

on_both_backends!(data_files_are_private_and_names_show_as_they_are);
