mod common;

use std::time::Duration;

use archipelago_emulator::{Emulator, EmulatorConfig, FailRule, FaultsSnapshot, ResetRule};
use common::*;
use reqwest::StatusCode;
use serde_json::json;

fn missing_node() -> String {
    format!("/jsonapi/node/digital_object/{UUID_A}")
}

/// A fresh client per request, so a reset connection is never reused from a pool.
async fn try_get(site: &Site, path: &str) -> Result<reqwest::Response, reqwest::Error> {
    site.authed(reqwest::Client::new().get(site.url(path)))
        .send()
        .await
}

#[tokio::test]
async fn the_next_requests_fail_with_the_given_status_retry_after_and_error_body() {
    let site = start().await;
    site.emulator.faults().fail(FailRule {
        count: 2,
        status: 503,
        retry_after_secs: Some(7),
        path_contains: None,
    });
    for _ in 0..2 {
        let response = site.get(&missing_node()).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "7");
        assert_eq!(error_of(response).await["status"], "503");
    }
    assert_eq!(
        site.get(&missing_node()).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        site.emulator.record().statuses(),
        [Some(503), Some(503), Some(404)]
    );
}

#[tokio::test]
async fn a_failure_can_be_limited_to_paths_containing_a_string() {
    let site = start().await;
    site.emulator.faults().fail(FailRule {
        count: 1,
        status: 500,
        retry_after_secs: None,
        path_contains: Some("field_file_drop".into()),
    });
    assert_eq!(
        site.get(&missing_node()).await.status(),
        StatusCode::NOT_FOUND
    );
    let upload = site
        .upload(
            "/jsonapi/node/digital_object/field_file_drop",
            "a.txt",
            b"a",
        )
        .await;
    assert_eq!(upload.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(site.emulator.record().files().is_empty());
    assert_eq!(
        site.upload(
            "/jsonapi/node/digital_object/field_file_drop",
            "a.txt",
            b"a"
        )
        .await
        .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn faults_are_driven_over_http_too() {
    let site = start().await;
    let admin = |path: &str| site.http.post(site.url(path));
    let snapshot: FaultsSnapshot = admin("/_emulator/faults/fail")
        .json(&json!({"count": 1, "status": 429, "retry_after_secs": 1}))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("snapshot");
    assert_eq!(snapshot.fail.len(), 1);
    let limited = site.get(&missing_node()).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "1");

    admin("/_emulator/faults/reset")
        .json(&json!({"count": 1}))
        .send()
        .await
        .expect("answers");
    assert!(try_get(&site, &missing_node()).await.is_err());

    admin("/_emulator/faults/delay")
        .json(&json!({"millis": 300}))
        .send()
        .await
        .expect("answers");
    admin("/_emulator/faults/down")
        .json(&json!({"millis": 60_000}))
        .send()
        .await
        .expect("answers");
    let shown: FaultsSnapshot = site
        .http
        .get(site.url("/_emulator/faults"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("snapshot");
    assert_eq!(shown.delay_ms, 300);
    assert!(shown.down_for_ms > 50_000);

    let cleared: FaultsSnapshot = admin("/_emulator/faults/clear")
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("snapshot");
    assert_eq!(cleared, FaultsSnapshot::default());
    assert_eq!(
        site.get(&missing_node()).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_reset_closes_the_connection_without_an_answer() {
    let site = start().await;
    site.emulator.faults().reset_next(1);
    let error = try_get(&site, &missing_node())
        .await
        .expect_err("no answer");
    assert!(error.status().is_none(), "{error:?}");
    assert!(error.is_request() || error.is_connect(), "{error:?}");
    let chain = format!("{:?}", std::error::Error::source(&error));
    assert!(
        chain.contains("ConnectionReset") || chain.contains("reset"),
        "a TCP reset, not a clean close: {chain}"
    );
    assert_eq!(
        try_get(&site, &missing_node())
            .await
            .expect("answers")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(site.emulator.record().statuses(), [None, Some(404)]);
}

#[tokio::test]
async fn a_reset_on_a_pooled_connection_is_an_error_and_nothing_is_stored() {
    let site = start().await;
    let _ = site.drop_file("warm.txt", b"pool this connection").await;
    site.emulator.faults().reset(ResetRule {
        count: 1,
        path_contains: Some("/jsonapi/node/digital_object".into()),
        after_handling: false,
    });
    let error = site
        .authed(site.http.post(site.url("/jsonapi/node/digital_object")))
        .header("Content-Type", JSONAPI)
        .body(node_document(UUID_A, "x", &json!({})).to_string())
        .send()
        .await
        .expect_err("reset");
    assert!(error.status().is_none(), "{error:?}");
    assert!(site.emulator.record().nodes().is_empty());
}

#[tokio::test]
async fn while_down_every_request_is_reset_and_afterwards_answered() {
    let site = start().await;
    site.emulator.faults().down_for(Duration::from_millis(400));
    assert!(try_get(&site, &missing_node()).await.is_err());
    assert!(try_get(&site, &missing_node()).await.is_err());
    wait_until("the outage to end", Duration::from_secs(5), || async {
        try_get(&site, &missing_node()).await.is_ok()
    })
    .await;
    assert_eq!(
        try_get(&site, &missing_node())
            .await
            .expect("answers")
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_delay_makes_a_client_time_out_and_clear_removes_it() {
    let site = start().await;
    site.emulator
        .faults()
        .set_delay(Duration::from_millis(1_000));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let error = site
        .authed(impatient.get(site.url(&missing_node())))
        .send()
        .await
        .expect_err("times out");
    assert!(error.is_timeout(), "{error:?}");
    site.emulator.faults().clear();
    let response = site
        .authed(impatient.get(site.url(&missing_node())))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_admin_routes_never_fail() {
    let site = start().await;
    site.emulator.faults().down_for(Duration::from_secs(60));
    site.emulator.faults().fail_next(10, 500);
    let record = site
        .http
        .get(site.url("/_emulator/record"))
        .send()
        .await
        .expect("answers");
    assert_eq!(record.status(), StatusCode::OK);
}

#[tokio::test]
async fn shutdown_refuses_connections_and_a_restart_on_the_same_port_keeps_the_data() {
    let site = start().await;
    let fid = site.drop_file("kept.txt", b"kept").await;
    let url = site.emulator.url();
    let addr = site.emulator.addr();
    let emulator = site.emulator.restart().await.expect("restarts");
    assert_eq!(emulator.url(), url);
    assert_eq!(emulator.file_bytes(fid).expect("kept").as_ref(), b"kept");
    emulator.shutdown().await;
    let refused = reqwest::Client::new()
        .get(format!("{url}/_emulator/record"))
        .send()
        .await;
    assert!(refused.expect_err("refused").is_connect());

    let fresh = Emulator::start_on(EmulatorConfig::default(), addr)
        .await
        .expect("same port");
    assert_eq!(fresh.url(), url);
    assert!(fresh.record().files().is_empty());
}

#[tokio::test]
async fn a_reset_after_handling_stores_the_upload_but_loses_the_answer() {
    let site = start().await;
    site.emulator.faults().reset(ResetRule {
        count: 1,
        path_contains: Some("field_file_drop".into()),
        after_handling: true,
    });
    let error = site
        .authed(
            site.http
                .post(site.url("/jsonapi/node/digital_object/field_file_drop")),
        )
        .header("Content-Type", "application/octet-stream")
        .header("Content-Disposition", "file; filename=\"lost.pdf\"")
        .body("%PDF-1.4")
        .send()
        .await
        .expect_err("the answer is lost");
    assert!(error.status().is_none(), "{error:?}");
    let record = site.emulator.record();
    assert_eq!(record.files().len(), 1, "the site acted on the request");
    assert_eq!(record.files()[0].filename, "lost.pdf");
    // The next upload is answered again.
    assert_eq!(site.drop_file("next.pdf", b"%PDF").await, 2);
}
