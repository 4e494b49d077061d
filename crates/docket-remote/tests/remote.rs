//! The remote-call layer against a real HTTP server on a loopback port.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use docket_remote::{Remote, RemoteConfig, RemoteErrorKind, Secret};

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn quick(name: &str) -> RemoteConfig {
    RemoteConfig {
        timeout: Duration::from_millis(500),
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(100),
        budget: Duration::from_secs(5),
        ..RemoteConfig::named(name)
    }
}

async fn get_path(
    remote: &Remote,
    url: String,
) -> Result<reqwest::Response, docket_remote::RemoteError> {
    remote
        .call("reading", &[404], |c| {
            let r = c.get(&url);
            async move { Ok(r) }
        })
        .await
}

#[tokio::test]
async fn transient_answers_are_retried_in_place_and_then_succeed() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let url = serve(Router::new().route(
        "/flaky",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => (StatusCode::SERVICE_UNAVAILABLE, HeaderMap::new(), "down"),
                    1 => {
                        let mut h = HeaderMap::new();
                        h.insert("retry-after", "1".parse().unwrap());
                        (StatusCode::TOO_MANY_REQUESTS, h, "slow down")
                    }
                    _ => (StatusCode::OK, HeaderMap::new(), "ok"),
                }
            }
        }),
    ))
    .await;
    let remote = Remote::new(quick("flaky"), vec![]).unwrap();
    let started = Instant::now();
    let answer = get_path(&remote, format!("{url}/flaky")).await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "ok");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
}

#[tokio::test]
async fn a_refusal_is_permanent_and_keeps_the_remote_s_words_without_secrets() {
    let url = serve(Router::new().route(
        "/refuse",
        get(|| async {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"errors":[{"status":"422","title":"Unprocessable Content","detail":"name: wrong password s3cret for you"}]}"#,
            )
        }),
    ))
    .await;
    let remote = Remote::new(quick("archive"), vec![Secret::new("s3cret")]).unwrap();
    let e = get_path(&remote, format!("{url}/refuse"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, RemoteErrorKind::Permanent);
    assert_eq!(e.status, Some(422));
    let text = e.to_string();
    assert!(text.starts_with("archive: reading: HTTP 422"), "{text}");
    assert!(text.contains("name: wrong password *** for you"), "{text}");
    assert!(!text.contains("s3cret"));
    // An accepted status is an answer, not an error.
    let missing = get_path(&remote, format!("{url}/nowhere")).await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn an_unreachable_remote_is_a_transport_error_after_the_budget() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = RemoteConfig {
        attempts: 3,
        ..quick("gone")
    };
    let remote = Remote::new(config, vec![]).unwrap();
    let e = get_path(&remote, format!("http://{addr}/x?key=SECRETKEY"))
        .await
        .unwrap_err();
    assert!(e.is_transport(), "{e:?}");
    assert!(!e.to_string().contains("SECRETKEY"), "{e}");
    assert!(e.to_string().contains("cannot connect"), "{e}");
}

#[tokio::test]
async fn a_slow_remote_times_out_as_a_transient_error() {
    let url = serve(Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "late"
        }),
    ))
    .await;
    let config = RemoteConfig {
        attempts: 2,
        ..quick("slow")
    };
    let remote = Remote::new(config, vec![]).unwrap();
    let e = get_path(&remote, format!("{url}/slow")).await.unwrap_err();
    assert!(e.is_transient());
    assert!(e.to_string().contains("timed out"), "{e}");
}

#[tokio::test]
async fn a_429_storm_costs_no_attempts_and_slows_the_remote_down() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let url = serve(Router::new().route(
        "/busy",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 4 {
                    (StatusCode::TOO_MANY_REQUESTS, "busy")
                } else {
                    (StatusCode::OK, "ok")
                }
            }
        }),
    ))
    .await;
    // Two attempts only: the four 429s must not use them up.
    let config = RemoteConfig {
        attempts: 2,
        ..quick("busy")
    };
    let remote = Remote::new(config, vec![]).unwrap();
    let answer = get_path(&remote, format!("{url}/busy")).await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "ok");
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert!(
        remote.slowdown() > Duration::ZERO,
        "the pace was not slowed"
    );
}

/// Says the remote is down after `trip` transport failures.
#[derive(Default)]
struct CountingHealth {
    failures: AtomicU32,
    answers: AtomicU32,
    trip: u32,
}

#[async_trait::async_trait]
impl docket_remote::Health for CountingHealth {
    async fn is_down(&self, _remote: &str) -> bool {
        self.failures.load(Ordering::SeqCst) >= self.trip
    }
    async fn transport_failed(&self, _error: &docket_remote::RemoteError) -> bool {
        self.failures.fetch_add(1, Ordering::SeqCst) + 1 >= self.trip
    }
    async fn answered(&self, _remote: &str) {
        self.answers.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_remote_its_health_calls_down_stops_the_call_at_once() {
    // Nothing listens here: every attempt fails to connect.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let health = Arc::new(CountingHealth {
        trip: 2,
        ..CountingHealth::default()
    });
    let remote = Remote::new(quick("gone"), vec![])
        .unwrap()
        .with_health(health.clone());
    let e = get_path(&remote, format!("{url}/x")).await.unwrap_err();
    assert_eq!(e.kind, RemoteErrorKind::Down, "{e}");
    assert!(e.is_transient() && e.is_down());
    assert_eq!(
        health.failures.load(Ordering::SeqCst),
        2,
        "stopped at the verdict"
    );
    // While down, nothing is sent at all.
    let e = get_path(&remote, format!("{url}/x")).await.unwrap_err();
    assert!(e.is_down());
    assert_eq!(health.failures.load(Ordering::SeqCst), 2);
}
