//! API rate limits over real HTTP: a token bucket per token with per-user overrides, 429
//! problem+json with `Retry-After` and the `RateLimit-*` fields, and failed authentications
//! limited per client address.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{on_both_backends, Backend, Server};

const CONFIG: &str = "[rate_limit]\n\
    requests_per_second = 1\n\
    burst = 5\n\
    failed_auth_per_minute = 3\n\
    [rate_limit.users.vip]\n\
    requests_per_second = 0\n\
    burst = 0\n";

async fn get_as(server: &Server, token: &str, path: &str) -> reqwest::Response {
    server
        .http
        .get(format!("{}{path}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
}

fn header<'r>(r: &'r reqwest::Response, name: &str) -> &'r str {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", r.headers()))
        .to_str()
        .expect("ASCII header")
}

async fn a_token_gets_its_burst_then_429_with_retry_after(backend: Backend) {
    let server = Server::start_configured(backend, CONFIG, &[]).await;
    // The burst: answers that each say what is left (a slow machine may see a refill of one
    // between two of them), then a 429.
    let mut left = Vec::new();
    let r = loop {
        let r = get_as(&server, &server.token, "/v1/jobs").await;
        if r.status() == 429 {
            break r;
        }
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "ratelimit-policy"), "\"token\";q=5;w=5");
        let budget = header(&r, "ratelimit");
        let remaining: u32 = budget
            .strip_prefix("\"token\";r=")
            .and_then(|rest| rest.split(';').next())
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("{budget}"));
        left.push(remaining);
        assert!(left.len() <= 10, "never limited: {left:?}");
    };
    assert_eq!(left[0], 4, "{left:?}");
    assert!(left.len() >= 5, "the burst is 5: {left:?}");
    let retry_after: u64 = header(&r, "retry-after").parse().expect("seconds");
    assert_eq!(retry_after, 1, "a cell comes back every second");
    assert!(header(&r, "ratelimit").starts_with("\"token\";r=0;t="));
    assert_eq!(header(&r, "content-type"), "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    assert_eq!(problem["status"], 429);
    assert!(
        problem["detail"].as_str().unwrap().contains("1 per second"),
        "{problem}"
    );

    // Another token has a bucket of its own; a user with an override of 0 is not limited.
    let other = server.token_for("other");
    assert_eq!(get_as(&server, &other, "/v1/jobs").await.status(), 200);
    let vip = server.token_for("vip");
    for _ in 0..30 {
        let r = get_as(&server, &vip, "/v1/jobs").await;
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("ratelimit").is_none());
    }
    // Public routes are not limited.
    let r = server
        .http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The bucket refills at its rate: after Retry-After, the token is served again.
    let start = Instant::now();
    loop {
        let r = get_as(&server, &server.token, "/v1/jobs").await;
        if r.status() == 200 {
            break;
        }
        assert_eq!(r.status(), 429);
        assert!(
            start.elapsed() < Duration::from_secs(retry_after + 2),
            "still limited {:?} after Retry-After {retry_after}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn failed_authentication_is_limited_per_address(backend: Backend) {
    let server = Server::start_configured(backend, CONFIG, &[]).await;
    for i in 0..3 {
        let r = get_as(&server, &format!("dkt_wrong{i}"), "/v1/jobs").await;
        assert_eq!(r.status(), 401, "attempt {i}");
    }
    let r = get_as(&server, "dkt_wrong3", "/v1/jobs").await;
    assert_eq!(r.status(), 429);
    let retry_after: u64 = header(&r, "retry-after").parse().expect("seconds");
    assert!((1..=20).contains(&retry_after), "Retry-After {retry_after}");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("failed authentications"));
    // While the address is refused, not even a right token is checked: a guesser cannot
    // tell a hit from a miss.
    let r = get_as(&server, &server.token, "/v1/jobs").await;
    assert_eq!(r.status(), 429);
}

on_both_backends!(
    a_token_gets_its_burst_then_429_with_retry_after,
    failed_authentication_is_limited_per_address,
);
