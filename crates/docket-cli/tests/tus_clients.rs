//! Stock tus clients nobody here wrote — `tuspy` (PyPI) and `tus-js-client` (npm, under
//! Node) — upload to a real `docket serve`, on SQLite and PostgreSQL: a client killed mid-file
//! and the upload finished by a new client process from the offset the server reports; a
//! checksum the data does not match; another user's upload; an expired upload; the server
//! killed mid-upload. Both clients are installed by `scripts/test.sh` (`pip install tuspy`,
//! `npm ci` in `tests/tus`); without them these tests fail, they never skip.

mod support;
#[path = "support/tus_client.rs"]
mod tus_client;

use std::time::{Duration, Instant};

use support::{on_both_backends, Backend, Server};
use tus_client::{offset, path_of, submit_and_check, write_file, Client, Upload};

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
