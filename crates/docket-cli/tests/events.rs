//! Live progress over real HTTP: Server-Sent Events (with a separate worker process doing the
//! work, so progress crosses processes through the database) and webhooks.
//! Every test runs on SQLite and on PostgreSQL (`…_sqlite`, `…_postgres`), each on a fresh
//! database.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use support::{on_both_backends, Backend, Server};

#[derive(Debug, Clone)]
struct SseEvent {
    id: Option<String>,
    event: String,
    data: Value,
}

/// A minimal `text/event-stream` reader over a live response.
struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseReader {
    async fn open(server: &Server, path: &str, last_event_id: Option<&str>) -> SseReader {
        let mut request = server.get(path);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("open the stream");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        SseReader {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event (comments and heartbeats skipped); `None` once the stream ends.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, "message".to_string(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if data.is_empty() {
                    continue; // a comment or heartbeat
                }
                let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                return Some(SseEvent { id, event, data });
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.body.next())
                .await
                .expect("an event within 30 s")?;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk.expect("stream chunk")));
        }
    }
}

fn cursor(id: &str) -> (i64, i64) {
    let (a, b) = id.split_once('-').expect("seq-item id");
    (a.parse().unwrap(), b.parse().unwrap())
}

/// A `docket worker` on the server's database: the only process doing work.
fn worker(server: &Server) -> Child {
    server
        .docket()
        .arg("worker")
        .env("DOCKET_WORKERS", "2")
        .env("DOCKET_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docket worker")
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn sse_delivers_every_item_change_in_order_and_resumes_without_gaps(backend: Backend) {
    let server = Server::start_on(backend, &[("DOCKET_WORKERS", "0".into())]).await;
    let _worker = Killed(worker(&server));
    let n = 120;
    let job = server.submit_noop(n, 15, json!({"max_workers": 2})).await;
    let id = job["id"].as_str().unwrap().to_string();
    let path = format!("/v1/jobs/{id}/events");

    // First connection: read a part of the job, then drop it mid-way.
    let mut first = SseReader::open(&server, &path, None).await;
    let mut events = Vec::new();
    while events
        .iter()
        .filter(|e: &&SseEvent| e.event == "item")
        .count()
        < 25
    {
        events.push(first.next().await.expect("stream still open"));
    }
    drop(first);
    let last_id = events
        .iter()
        .rev()
        .find_map(|e| e.id.clone())
        .expect("item events carry ids");

    // Reconnect with Last-Event-ID and read to the end.
    let mut second = SseReader::open(&server, &path, Some(&last_id)).await;
    let mut resumed = Vec::new();
    while let Some(e) = second.next().await {
        let end = e.event == "end";
        resumed.push(e);
        if end {
            break;
        }
    }
    assert_eq!(resumed.last().unwrap().event, "end");

    // Ids strictly increase within each connection, and the second starts after the first.
    for stream in [&events, &resumed] {
        let ids: Vec<_> = stream
            .iter()
            .filter_map(|e| e.id.as_deref().map(cursor))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ordered: {ids:?}");
    }
    let resumed_ids: Vec<_> = resumed
        .iter()
        .filter_map(|e| e.id.as_deref().map(cursor))
        .collect();
    assert!(
        resumed_ids.iter().all(|c| *c > cursor(&last_id)),
        "nothing repeated"
    );

    // Nothing missed: the latest event of every item says it succeeded.
    let mut latest: BTreeMap<String, Value> = BTreeMap::new();
    for e in events
        .iter()
        .chain(resumed.iter())
        .filter(|e| e.event == "item")
    {
        latest.insert(e.data["name"].as_str().unwrap().to_string(), e.data.clone());
    }
    assert_eq!(latest.len() as u64, n, "every item was reported");
    assert!(latest
        .values()
        .all(|item| item["state"] == "succeeded" && item["progress"] == 100.0));

    // Job snapshots: progress never goes back; the last one before `end` is the finished job.
    let snapshots: Vec<&Value> = events
        .iter()
        .chain(resumed.iter())
        .filter(|e| e.event == "job")
        .map(|e| &e.data)
        .collect();
    assert!(snapshots.len() >= 2);
    let last = snapshots.last().unwrap();
    assert_eq!(last["state"], "completed");
    assert_eq!(last["counts"]["succeeded"], n);
    let progress: Vec<f64> = snapshots
        .iter()
        .map(|j| j["progress"].as_f64().unwrap())
        .collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");

    // A finished job's stream replays everything after the cursor, then ends.
    let mut replay = SseReader::open(&server, &path, None).await;
    let mut names = HashSet::new();
    while let Some(e) = replay.next().await {
        match e.event.as_str() {
            "item" => {
                names.insert(e.data["name"].as_str().unwrap().to_string());
            }
            "end" => break,
            _ => {}
        }
    }
    assert_eq!(names.len() as u64, n);

    let bad = server
        .get(&path)
        .header("Last-Event-ID", "not-a-cursor")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
}

async fn the_all_jobs_stream_follows_every_job_of_the_caller(backend: Backend) {
    let server = Server::start_on(backend, &[("DOCKET_WORKERS", "0".into())]).await;
    let mut stream = SseReader::open(&server, "/v1/events", None).await;
    let _worker = Killed(worker(&server));
    let a = server.submit_noop(20, 10, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = server.submit_noop(5, 10, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut finished = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while finished.len() < 2 {
        assert!(Instant::now() < deadline, "both jobs finish on the stream");
        let e = stream.next().await.expect("stream open");
        assert_eq!(e.event, "job");
        let id = e.data["id"].as_str().unwrap().to_string();
        assert!(id == a || id == b, "only the caller's jobs");
        if e.data["state"] == "completed" {
            finished.insert(id);
        }
    }
    // Another user's stream shows none of them.
    let other = server.token_for("someone-else");
    let r = server
        .http
        .get(format!("{}/v1/events", server.url))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let first = tokio::time::timeout(Duration::from_millis(1500), body.next()).await;
    assert!(first.is_err(), "nothing to say to another user: {first:?}");
}

async fn a_finished_job_posts_a_signed_webhook_and_retries_after_500(backend: Backend) {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};

    let received: Arc<Mutex<Vec<(String, Bytes)>>> = Arc::default();
    let answers = Arc::new(Mutex::new(vec![StatusCode::INTERNAL_SERVER_ERROR]));
    let app = {
        let received = received.clone();
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let received = received.clone();
                let answers = answers.clone();
                async move {
                    let signature = headers
                        .get("docket-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    received.lock().unwrap().push((signature, body));
                    let mut answers = answers.lock().unwrap();
                    if answers.is_empty() {
                        StatusCode::NO_CONTENT
                    } else {
                        answers.remove(0)
                    }
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let server = Server::start_on(
        backend,
        &[
            ("DOCKET_WEBHOOK_SECRET", "s3cret".into()),
            ("DOCKET_WEBHOOK_RETRY_BASE_MS", "100".into()),
            // The receiver is on loopback, which only an allow-list admits.
            ("DOCKET_WEBHOOKS_ALLOW_PRIVATE", "127.0.0.0/8".into()),
        ],
    )
    .await;
    let job = server.submit_noop(3, 1, json!({"notify_url": hook})).await;
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(job["webhook"]["state"], "pending");
    let done = server
        .wait(&id, Duration::from_secs(30), "webhook delivered", |j| {
            j["webhook"]["state"] == "delivered"
        })
        .await;
    let attempts = done["webhook"]["attempts"].as_array().unwrap();
    let statuses: Vec<_> = attempts.iter().map(|a| a["status"].clone()).collect();
    assert_eq!(statuses, vec![json!(500), json!(204)]);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    for (signature, body) in &received {
        assert_eq!(
            docket_notify::verify("s3cret", signature, body),
            Ok(()),
            "signed"
        );
        let posted: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(posted["id"], id.as_str());
        assert_eq!(posted["state"], "completed");
    }
}

/// SSRF: a `notify_url` that reaches the server's own network is refused at submit, in every
/// spelling, on both submit paths; nothing is created.
async fn an_internal_notify_url_is_refused_at_submit(backend: Backend) {
    let server = Server::start_on(backend, &[("DOCKET_WEBHOOK_SECRET", "s3cret".into())]).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://2130706433/",
        "http://127.1/",
        "http://[::1]/",
        "http://localhost/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.0.0.1/",
        "http://100.64.0.1/",
        "http://user:pw@127.0.0.1/",
    ] {
        let r = server
            .post("/v1/jobs")
            .json(&json!({"kind": "noop", "source": {"count": 1}, "options": {"notify_url": url}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{url}");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["code"], "notify_url_refused", "{url}: {problem}");
    }
    let form = reqwest::multipart::Form::new()
        .part(
            "files",
            reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt"),
        )
        .text(
            "options",
            json!({"notify_url": "http://127.0.0.1:9/hook"}).to_string(),
        );
    let r = server
        .post("/v1/jobs")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "notify_url_refused", "{problem}");
    let jobs: Value = server
        .get("/v1/jobs")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jobs["items"].as_array().map(Vec::len), Some(0), "{jobs}");
}

on_both_backends!(
    an_internal_notify_url_is_refused_at_submit,
    sse_delivers_every_item_change_in_order_and_resumes_without_gaps,
    the_all_jobs_stream_follows_every_job_of_the_caller,
    a_finished_job_posts_a_signed_webhook_and_retries_after_500,
);
