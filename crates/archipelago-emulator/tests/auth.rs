mod common;

use archipelago_emulator::EmulatorConfig;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_request_without_credentials_is_challenged_with_401() {
    let site = start().await;
    let response = site
        .http
        .get(site.url(&format!("/jsonapi/node/digital_object/{UUID_A}")))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(challenge.starts_with("Basic realm=\""), "{challenge}");
    let error = error_of(response).await;
    assert_eq!(error["status"], "401");
}

#[tokio::test]
async fn wrong_credentials_are_refused_with_403_and_nothing_is_stored() {
    let site = start().await;
    let response = site
        .http
        .post(site.url("/jsonapi/node/digital_object"))
        .basic_auth("jsonapi", Some("wrong"))
        .header("Content-Type", JSONAPI)
        .body(node_document(UUID_A, "x", &json!({})).to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error = error_of(response).await;
    assert_eq!(error["status"], "403");
    assert!(error["title"].is_string() && error["detail"].is_string());
    assert!(site.emulator.record().nodes().is_empty());
}

#[tokio::test]
async fn a_read_only_site_answers_every_write_with_405_but_still_reads() {
    let site = start_with(EmulatorConfig {
        read_only: true,
        ..EmulatorConfig::default()
    })
    .await;
    let create = site
        .post_document(
            "/jsonapi/node/digital_object",
            &node_document(UUID_A, "x", &json!({})),
        )
        .await;
    assert_eq!(create.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_of(create).await["status"], "405");
    let upload = site
        .upload(
            "/jsonapi/node/digital_object/field_file_drop",
            "a.txt",
            b"a",
        )
        .await;
    assert_eq!(upload.status(), StatusCode::METHOD_NOT_ALLOWED);
    let delete = site
        .delete(&format!("/jsonapi/node/digital_object/{UUID_A}"))
        .await;
    assert_eq!(delete.status(), StatusCode::METHOD_NOT_ALLOWED);
    let read = site
        .get(&format!("/jsonapi/node/digital_object/{UUID_A}"))
        .await;
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    let record = site.emulator.record();
    assert!(record.nodes().is_empty() && record.files().is_empty());
}
