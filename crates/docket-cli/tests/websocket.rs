//! The WebSocket feed with a real WebSocket client: the same events as SSE, resumable with
//! `?after=`, authenticated by the bearer header or a ticket from `POST /v1/ws-tickets`.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use support::{on_both_backends, Backend, Server};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &Server, path: &str, token: Option<&str>) -> Result<Socket, WsError> {
    let url = format!("{}{path}", server.url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request()?;
    if let Some(token) = token {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
    }
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

fn refused_with(result: Result<Socket, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, got a WebSocket"),
    }
}

/// The next event (a JSON text message); pings are answered by the client itself.
async fn next_event(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("an event within 30 s")?
            .expect("a message");
        match message {
            Message::Text(text) => return Some(serde_json::from_str(&text).expect("JSON event")),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

async fn ticket(server: &Server) -> String {
    let r = server.post("/v1/ws-tickets").send().await.unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert!(body["expires_at"].as_str().is_some(), "{body}");
    body["ticket"].as_str().unwrap().to_string()
}

async fn a_job_feed_resumes_after_a_cursor_and_ends(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let job = server.submit_noop(12, 40, json!({"max_workers": 1})).await;
    let id = job["id"].as_str().unwrap().to_string();

    // The first connection, by header: a job snapshot and some item changes, then it drops.
    let mut socket = connect(&server, &format!("/v1/jobs/{id}/ws"), Some(&server.token))
        .await
        .expect("connect");
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut last_cursor = None;
    let mut snapshots = 0;
    while seen.values().filter(|s| *s == "succeeded").count() < 3 {
        let event = next_event(&mut socket).await.expect("not closed yet");
        match event["event"].as_str().unwrap() {
            "job" => {
                assert_eq!(event["data"]["id"], id.as_str());
                snapshots += 1;
            }
            "item" => {
                let item = &event["data"];
                seen.insert(
                    item["id"].as_str().unwrap().to_string(),
                    item["state"].as_str().unwrap().to_string(),
                );
                last_cursor = Some(event["id"].as_str().unwrap().to_string());
            }
            other => panic!("unexpected {other} before the job finished: {event}"),
        }
    }
    assert!(snapshots >= 1);
    socket.close(None).await.ok();
    drop(socket);

    // Resumed by ticket after the last cursor: only later changes, through to the end.
    let cursor = last_cursor.expect("an item event");
    let t = ticket(&server).await;
    let mut socket = connect(
        &server,
        &format!("/v1/jobs/{id}/ws?after={cursor}&ticket={t}"),
        None,
    )
    .await
    .expect("connect with a ticket");
    let mut ended = false;
    while let Some(event) = next_event(&mut socket).await {
        match event["event"].as_str().unwrap() {
            "item" => {
                assert_ne!(event["id"], cursor.as_str(), "a change sent twice");
                let item = &event["data"];
                seen.insert(
                    item["id"].as_str().unwrap().to_string(),
                    item["state"].as_str().unwrap().to_string(),
                );
            }
            "job" => {}
            "end" => {
                assert_eq!(event["data"], id.as_str());
                ended = true;
            }
            other => panic!("unexpected {other}: {event}"),
        }
    }
    assert!(ended, "the feed ends with `end` and a close");
    assert_eq!(seen.len(), 12, "every item was seen: {seen:?}");
    assert!(seen.values().all(|s| s == "succeeded"), "{seen:?}");
}

async fn feeds_refuse_strangers_and_the_all_jobs_feed_follows_new_jobs(backend: Backend) {
    let server = Server::start_on(backend, &[]).await;
    let job = server.submit_noop(2, 0, json!({})).await;
    let id = job["id"].as_str().unwrap().to_string();
    let path = format!("/v1/jobs/{id}/ws");
    assert_eq!(refused_with(connect(&server, &path, None).await), 401);
    let bad = format!("{path}?ticket=wst_1_00_00");
    assert_eq!(refused_with(connect(&server, &bad, None).await), 401);
    let other = server.token_for("someone-else");
    assert_eq!(
        refused_with(connect(&server, &path, Some(&other)).await),
        404
    );
    let bad_cursor = format!("{path}?after=nonsense");
    assert_eq!(
        refused_with(connect(&server, &bad_cursor, Some(&server.token)).await),
        400
    );
    // Not a WebSocket request: a problem, not a hang.
    let r = server.get(&path).send().await.unwrap();
    assert_eq!(r.status(), 400);

    let t = ticket(&server).await;
    let mut socket = connect(&server, &format!("/v1/ws?ticket={t}"), None)
        .await
        .expect("all-jobs feed");
    let first = next_event(&mut socket).await.expect("an event");
    assert_eq!(first["event"], "job");
    let later = server.submit_noop(1, 0, json!({})).await;
    let later_id = later["id"].as_str().unwrap();
    loop {
        let event = next_event(&mut socket).await.expect("still open");
        if event["data"]["id"] == later_id {
            break;
        }
    }
}

on_both_backends!(
    a_job_feed_resumes_after_a_cursor_and_ends,
    feeds_refuse_strangers_and_the_all_jobs_feed_follows_new_jobs,
);
