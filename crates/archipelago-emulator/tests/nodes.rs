mod common;

use archipelago_emulator::FileStatus;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const NODES: &str = "/jsonapi/node/digital_object";

#[tokio::test]
async fn creating_a_digital_object_answers_201_with_location_and_the_resource() {
    let site = start().await;
    let response = site
        .post_document(
            NODES,
            &node_document(
                UUID_A,
                "Inventory 1",
                &json!({"type": "Text", "label": "Inventory 1"}),
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(location, site.url(&format!("{NODES}/{UUID_A}")));
    assert_eq!(response.headers()["content-type"], JSONAPI);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["data"]["type"], "node--digital_object");
    assert_eq!(body["data"]["id"], UUID_A);
    assert_eq!(body["data"]["attributes"]["title"], "Inventory 1");
    assert_eq!(body["data"]["attributes"]["moderation_state"], "published");
    assert_eq!(body["data"]["links"]["self"]["href"], location);

    let read = site.get(&format!("{NODES}/{UUID_A}")).await;
    assert_eq!(read.status(), StatusCode::OK);
    let read: Value = read.json().await.expect("JSON");
    assert_eq!(read["data"]["attributes"]["title"], "Inventory 1");

    let record = site.emulator.record();
    let node = record.node(UUID_A).expect("stored");
    assert_eq!(node.bundle, "digital_object");
    assert_eq!(node.moderation_state, "published");
    let stored: Value = serde_json::from_str(&node.field_descriptive_metadata).expect("JSON");
    assert_eq!(stored["label"], "Inventory 1");
}

#[tokio::test]
async fn without_a_client_id_the_site_generates_a_uuid() {
    let site = start().await;
    let mut document = node_document(UUID_A, "No id", &json!({}));
    document["data"]
        .as_object_mut()
        .expect("object")
        .remove("id");
    let response = site.post_document(NODES, &document).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("JSON");
    let id = body["data"]["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 36);
    assert!(site.emulator.record().node(&id).is_some());
}

#[tokio::test]
async fn collections_are_their_own_bundle() {
    let site = start().await;
    let mut document = node_document(UUID_A, "A collection", &json!({"type": "Collection"}));
    document["data"]["type"] = json!("node--digital_object_collection");
    let response = site
        .post_document("/jsonapi/node/digital_object_collection", &document)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        site.get(&format!("/jsonapi/node/digital_object_collection/{UUID_A}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        site.get(&format!("{NODES}/{UUID_A}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_existing_id_is_a_409_conflict() {
    let site = start().await;
    let document = node_document(UUID_A, "Once", &json!({}));
    assert_eq!(
        site.post_document(NODES, &document).await.status(),
        StatusCode::CREATED
    );
    let again = site.post_document(NODES, &document).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let error = error_of(again).await;
    assert_eq!(error["status"], "409");
    assert!(error["detail"]
        .as_str()
        .expect("detail")
        .contains("Entity already exists"));
    assert_eq!(site.emulator.record().nodes().len(), 1);
}

#[tokio::test]
async fn a_type_that_is_not_the_routes_is_a_409() {
    let site = start().await;
    let mut document = node_document(UUID_A, "x", &json!({}));
    document["data"]["type"] = json!("node--article");
    let response = site.post_document(NODES, &document).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(error_of(response).await["source"]["pointer"], "/data/type");
}

#[tokio::test]
async fn an_id_that_is_not_an_rfc_4122_uuid_is_a_422() {
    let site = start().await;
    for id in [
        "42",
        "6f1c2a523b1e4c1d9a0e2f4b5c6d7e8f",
        "{6f1c2a52-3b1e-4c1d-9a0e-2f4b5c6d7e8f}",
    ] {
        let response = site
            .post_document(NODES, &node_document(id, "x", &json!({})))
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{id}");
        assert_eq!(error_of(response).await["source"]["pointer"], "/data/id");
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_api_is_a_415() {
    let site = start().await;
    let response = site
        .authed(site.http.post(site.url(NODES)))
        .header("Content-Type", "application/json")
        .body(node_document(UUID_A, "x", &json!({})).to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn missing_or_invalid_attributes_are_422_pointing_at_the_attribute() {
    let site = start().await;
    let cases = [
        (
            json!({"moderation_state": "published", "field_descriptive_metadata": "{}"}),
            "title",
        ),
        (json!({"title": "x"}), "field_descriptive_metadata"),
        (
            json!({"title": "x", "field_descriptive_metadata": "{not json"}),
            "field_descriptive_metadata",
        ),
        (
            json!({"title": "x", "field_descriptive_metadata": "{}", "moderation_state": "live"}),
            "moderation_state",
        ),
        (
            json!({"title": "x".repeat(256), "field_descriptive_metadata": "{}"}),
            "title",
        ),
    ];
    for (attributes, field) in cases {
        let document = json!({"data": {"type": "node--digital_object", "id": UUID_A, "attributes": attributes}});
        let response = site.post_document(NODES, &document).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        let error = error_of(response).await;
        assert_eq!(error["status"], "422");
        assert_eq!(
            error["source"]["pointer"],
            format!("/data/attributes/{field}")
        );
        assert!(error["detail"].as_str().expect("detail").starts_with(field));
    }
    assert!(site.emulator.record().nodes().is_empty());
}

#[tokio::test]
async fn saving_a_node_makes_its_files_permanent_and_describes_them() {
    let site = start().await;
    let pdf = site.drop_file("inv-001.pdf", b"%PDF-1.4 pretend").await;
    let png = site.drop_file("scan.png", b"\x89PNG pretend").await;
    let stray = site.drop_file("stray.txt", b"left behind").await;
    let metadata = json!({
        "type": "Text", "label": "Inventory 1",
        "documents": [pdf], "images": [png.to_string()],
        "ap:entitymapping": {"entity:file": ["documents", "images"], "entity:node": ["ismemberof"]},
    });
    let response = site
        .post_document(NODES, &node_document(UUID_A, "Inventory 1", &metadata))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let record = site.emulator.record();
    assert_eq!(record.file(pdf).expect("pdf").status, FileStatus::Permanent);
    assert_eq!(record.file(png).expect("png").status, FileStatus::Permanent);
    assert_eq!(
        record.file(stray).expect("stray").status,
        FileStatus::Temporary
    );
    let orphans: Vec<u64> = record.orphan_files().iter().map(|file| file.fid).collect();
    assert_eq!(orphans, vec![stray]);

    let node = record.node(UUID_A).expect("stored");
    assert_eq!(node.files, vec![pdf, png]);
    let stored: Value = serde_json::from_str(&node.field_descriptive_metadata).expect("JSON");
    let pdf_record = record.file(pdf).expect("pdf");
    let document = &stored["as:document"][format!("urn:uuid:{}", pdf_record.uuid)];
    assert_eq!(document["dr:fid"], pdf);
    assert_eq!(document["checksum"], pdf_record.sha256);
    assert_eq!(document["dr:mimetype"], "application/pdf");
    assert_eq!(document["url"], pdf_record.uri);
    let image = &stored["as:image"][format!("urn:uuid:{}", record.file(png).expect("png").uuid)];
    assert_eq!(image["dr:mimetype"], "image/png");
    assert_eq!(image["dr:for"], "images");
}

#[tokio::test]
async fn a_file_id_that_does_not_exist_is_a_422_and_nothing_is_stored() {
    let site = start().await;
    let pdf = site.drop_file("a.pdf", b"%PDF").await;
    let metadata = json!({"documents": [pdf, 999]});
    let response = site
        .post_document(NODES, &node_document(UUID_A, "x", &metadata))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = error_of(response).await;
    assert_eq!(
        error["source"]["pointer"],
        "/data/attributes/field_descriptive_metadata"
    );
    assert!(error["detail"].as_str().expect("detail").contains("999"));
    let record = site.emulator.record();
    assert!(record.nodes().is_empty());
    assert_eq!(record.file(pdf).expect("pdf").status, FileStatus::Temporary);
}

#[tokio::test]
async fn patch_changes_what_it_names_and_delete_removes_the_node() {
    let site = start().await;
    let path = format!("{NODES}/{UUID_A}");
    site.post_document(
        NODES,
        &node_document(UUID_A, "Before", &json!({"label": "Before"})),
    )
    .await;
    let patch = json!({"data": {"type": "node--digital_object", "id": UUID_A, "attributes": {"title": "After", "moderation_state": "archived"}}});
    let response = site.patch_document(&path, &patch).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["data"]["attributes"]["title"], "After");
    let node = site
        .emulator
        .record()
        .node(UUID_A)
        .cloned()
        .expect("stored");
    assert_eq!(node.moderation_state, "archived");
    assert!(node.field_descriptive_metadata.contains("Before"));

    let wrong_id = json!({"data": {"type": "node--digital_object", "id": UUID_B, "attributes": {"title": "x"}}});
    assert_eq!(
        site.patch_document(&path, &wrong_id).await.status(),
        StatusCode::BAD_REQUEST
    );

    assert_eq!(site.delete(&path).await.status(), StatusCode::NO_CONTENT);
    let gone = site.get(&path).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_of(gone).await["status"], "404");
    assert_eq!(site.delete(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        site.patch_document(&path, &patch).await.status(),
        StatusCode::NOT_FOUND
    );
}
