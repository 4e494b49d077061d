mod common;

use archipelago_emulator::{EmulatorConfig, FileStatus, Record};
use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

const DROP: &str = "/jsonapi/node/digital_object/field_file_drop";

#[tokio::test]
async fn a_free_upload_is_a_temporary_file_with_drupals_attributes() {
    let site = start().await;
    let response = site.upload(DROP, "inv-001.pdf", b"%PDF-1.4").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("JSON");
    let data = &body["data"];
    assert_eq!(data["type"], "file--file");
    let attributes = &data["attributes"];
    assert_eq!(attributes["drupal_internal__fid"], 1);
    assert_eq!(attributes["filename"], "inv-001.pdf");
    assert_eq!(attributes["filemime"], "application/pdf");
    assert_eq!(attributes["filesize"], 8);
    assert_eq!(attributes["status"], false);
    let uri = attributes["uri"]["value"].as_str().expect("uri");
    assert!(uri.starts_with("private://"), "{uri}");
    assert!(attributes["uri"]["url"].is_string());
    assert!(attributes["created"].is_string() && attributes["changed"].is_string());

    let record = site.emulator.record();
    let file = record.file(1).expect("stored");
    assert_eq!(file.status, FileStatus::Temporary);
    assert_eq!(file.sha256, hex::encode(Sha256::digest(b"%PDF-1.4")));
    assert_eq!(file.uploaded_for.field, "field_file_drop");
    assert_eq!(record.orphan_files().len(), 1);

    let by_uuid = site.get(&format!("/jsonapi/file/file/{}", file.uuid)).await;
    assert_eq!(by_uuid.status(), StatusCode::OK);
    let private = site
        .get(&format!(
            "/system/files/{}",
            uri.trim_start_matches("private://")
        ))
        .await;
    assert_eq!(private.bytes().await.expect("bytes").as_ref(), b"%PDF-1.4");
}

#[tokio::test]
async fn the_same_filename_again_becomes_name_0_then_name_1() {
    let site = start().await;
    let mut names = Vec::new();
    for _ in 0..3 {
        let body: Value = site
            .upload(DROP, "scan.png", b"png")
            .await
            .json()
            .await
            .expect("JSON");
        names.push(
            body["data"]["attributes"]["filename"]
                .as_str()
                .expect("name")
                .to_owned(),
        );
    }
    assert_eq!(names, ["scan.png", "scan_0.png", "scan_1.png"]);
    let fids: Vec<u64> = site
        .emulator
        .record()
        .files()
        .iter()
        .map(|f| f.fid)
        .collect();
    assert_eq!(fids, [1, 2, 3]);
}

#[tokio::test]
async fn disposition_and_content_type_are_required() {
    let site = start().await;
    let no_disposition = site
        .authed(site.http.post(site.url(DROP)))
        .header("Content-Type", "application/octet-stream")
        .body("x")
        .send()
        .await
        .expect("answers");
    assert_eq!(no_disposition.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(no_disposition).await["status"], "400");

    let unparseable = site
        .authed(site.http.post(site.url(DROP)))
        .header("Content-Type", "application/octet-stream")
        .header("Content-Disposition", "attachment")
        .body("x")
        .send()
        .await
        .expect("answers");
    assert_eq!(unparseable.status(), StatusCode::BAD_REQUEST);

    let wrong_type = site
        .authed(site.http.post(site.url(DROP)))
        .header("Content-Type", "text/plain")
        .header("Content-Disposition", "file; filename=\"a.txt\"")
        .body("x")
        .send()
        .await
        .expect("answers");
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(site.emulator.record().files().is_empty());
}

#[tokio::test]
async fn a_path_in_the_filename_is_reduced_to_its_base_name() {
    let site = start().await;
    let body: Value = site
        .upload(DROP, "../../etc/notes.txt", b"x")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(body["data"]["attributes"]["filename"], "notes.txt");
}

#[tokio::test]
async fn an_extension_the_field_does_not_allow_is_a_422() {
    let site = start().await;
    for name in ["tool.exe", "no-extension"] {
        let response = site.upload(DROP, name, b"x").await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        assert_eq!(error_of(response).await["status"], "422");
    }
    let upper = site.upload(DROP, "PHOTO.JPG", b"x").await;
    assert_eq!(upper.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_body_above_the_limit_is_a_422_even_when_streamed_without_a_length() {
    let site = start_with(EmulatorConfig {
        max_upload_bytes: 1024,
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(
        site.upload(DROP, "ok.txt", &[b'a'; 1024]).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        site.upload(DROP, "big.txt", &[b'a'; 1025]).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..64).map(|_| Ok(vec![b'a'; 100])).collect();
    let streamed = site
        .authed(site.http.post(site.url(DROP)))
        .header("Content-Type", "application/octet-stream")
        .header("Content-Disposition", "file; filename=\"streamed.txt\"")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .expect("answers");
    assert_eq!(streamed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(site.emulator.record().files().len(), 1);
}

#[tokio::test]
async fn the_admin_routes_serve_the_record_and_the_bytes() {
    let site = start().await;
    let fid = site.drop_file("notes.md", b"# Notes").await;
    let record: Record = site
        .http
        .get(site.url("/_emulator/record"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("record JSON");
    assert_eq!(record, site.emulator.record());
    assert_eq!(record.files()[0].filemime, "text/markdown");
    let bytes = site
        .http
        .get(site.url(&format!("/_emulator/files/{fid}")))
        .send()
        .await
        .expect("answers");
    assert_eq!(bytes.status(), StatusCode::OK);
    assert_eq!(bytes.bytes().await.expect("bytes").as_ref(), b"# Notes");
    let missing = site
        .http
        .get(site.url("/_emulator/files/99"))
        .send()
        .await
        .expect("answers");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn files_can_be_looked_up_by_their_exact_name() {
    let site = start().await;
    site.upload(DROP, "inv-001.pdf", b"one").await;
    site.upload(DROP, "inv-001.pdf", b"two").await;
    site.upload(DROP, "other.pdf", b"three").await;
    let found: Value = site
        .get("/jsonapi/file/file?filter%5Bfilename%5D=inv-001.pdf")
        .await
        .json()
        .await
        .expect("JSON");
    let data = found["data"].as_array().expect("a collection");
    assert_eq!(data.len(), 1, "{found}");
    assert_eq!(data[0]["attributes"]["filename"], "inv-001.pdf");
    assert_eq!(data[0]["attributes"]["drupal_internal__fid"], 1);
    let renamed: Value = site
        .get("/jsonapi/file/file?filter[filename]=inv-001_0.pdf")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(renamed["data"].as_array().map(Vec::len), Some(1));
    let none: Value = site
        .get("/jsonapi/file/file?filter[filename]=missing.pdf")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(none["data"], serde_json::json!([]));
    let all: Value = site
        .get("/jsonapi/file/file")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(all["data"].as_array().map(Vec::len), Some(3));
    let unknown = site.get("/jsonapi/file/file?filter[uri]=x").await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}
