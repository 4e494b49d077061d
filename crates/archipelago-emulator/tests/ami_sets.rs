mod common;

use archipelago_emulator::FileStatus;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const SETS: &str = "/jsonapi/ami_set_entity/ami_set_entity";

#[tokio::test]
async fn the_deployment_order_stores_a_ready_set_with_its_csv_and_zip() {
    let site = start().await;
    let created = site
        .post_document(SETS, &ami_set_document(UUID_A, "Docket job 1"))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(
        created.headers()["location"],
        site.url(&format!("{SETS}/{UUID_A}")).as_str()
    );
    let body: Value = created.json().await.expect("JSON");
    assert_eq!(body["data"]["type"], "ami_set_entity--ami_set_entity");
    assert_eq!(body["data"]["attributes"]["status"], "READY");
    assert!(body["data"]["relationships"]["source_data"]["data"].is_null());

    let csv = site
        .upload(
            &format!("{SETS}/{UUID_A}/source_data"),
            "docket.csv",
            b"node_uuid,type,label\n",
        )
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    let csv: Value = csv.json().await.expect("JSON");
    assert_eq!(csv["data"]["type"], "file--file");
    assert_eq!(csv["data"]["attributes"]["filename"], "docket.csv");
    assert_eq!(csv["data"]["attributes"]["status"], true);
    let csv_fid = csv["data"]["attributes"]["drupal_internal__fid"]
        .as_u64()
        .expect("fid");

    let zip = site
        .upload(
            &format!("{SETS}/{UUID_A}/zip_file"),
            "docket.zip",
            b"PK\x03\x04",
        )
        .await;
    assert_eq!(zip.status(), StatusCode::OK);
    let zip: Value = zip.json().await.expect("JSON");
    let zip_fid = zip["data"]["attributes"]["drupal_internal__fid"]
        .as_u64()
        .expect("fid");

    let record = site.emulator.record();
    let set = record.ami_set(UUID_A).expect("stored");
    assert_eq!(
        (set.source_data, set.zip_file),
        (Some(csv_fid), Some(zip_fid))
    );
    assert_eq!(set.status, "READY");
    let config: Value = serde_json::from_str(&set.set).expect("JSON");
    assert_eq!(config["plugin"], "spreadsheet");
    let csv_record = record.file(csv_fid).expect("csv");
    assert_eq!(csv_record.status, FileStatus::Permanent);
    assert_eq!(csv_record.uploaded_for.entity.as_deref(), Some(UUID_A));
    assert_eq!(csv_record.uploaded_for.field, "source_data");
    assert!(record.orphan_files().is_empty());
    assert_eq!(
        site.emulator.file_bytes(csv_fid).expect("bytes").as_ref(),
        b"node_uuid,type,label\n"
    );

    let read: Value = site
        .get(&format!("{SETS}/{UUID_A}"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        read["data"]["relationships"]["source_data"]["data"]["id"],
        csv_record.uuid
    );
}

#[tokio::test]
async fn a_second_upload_replaces_the_single_value_field_and_renames_the_file() {
    let site = start().await;
    site.post_document(SETS, &ami_set_document(UUID_A, "Set"))
        .await;
    let path = format!("{SETS}/{UUID_A}/source_data");
    let first: Value = site
        .upload(&path, "docket.csv", b"one")
        .await
        .json()
        .await
        .expect("JSON");
    let second = site.upload(&path, "docket.csv", b"two").await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.expect("JSON");
    assert_eq!(second["data"]["attributes"]["filename"], "docket_0.csv");
    let second_fid = second["data"]["attributes"]["drupal_internal__fid"]
        .as_u64()
        .expect("fid");
    assert!(
        second_fid
            > first["data"]["attributes"]["drupal_internal__fid"]
                .as_u64()
                .expect("fid")
    );
    let record = site.emulator.record();
    assert_eq!(
        record.ami_set(UUID_A).expect("set").source_data,
        Some(second_fid)
    );
    assert_eq!(record.files().len(), 2);
}

#[tokio::test]
async fn uploading_into_a_missing_set_is_a_404_and_a_wrong_extension_a_422() {
    let site = start().await;
    let missing = site
        .upload(&format!("{SETS}/{UUID_B}/source_data"), "a.csv", b"x")
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_of(missing).await["status"], "404");

    site.post_document(SETS, &ami_set_document(UUID_A, "Set"))
        .await;
    let wrong_csv = site
        .upload(&format!("{SETS}/{UUID_A}/source_data"), "a.zip", b"x")
        .await;
    assert_eq!(wrong_csv.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_zip = site
        .upload(&format!("{SETS}/{UUID_A}/zip_file"), "a.csv", b"x")
        .await;
    assert_eq!(wrong_zip.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_field = site
        .upload(&format!("{SETS}/{UUID_A}/name"), "a.csv", b"x")
        .await;
    assert_eq!(unknown_field.status(), StatusCode::NOT_FOUND);
    assert!(site.emulator.record().files().is_empty());
}

#[tokio::test]
async fn invalid_set_attributes_are_422_pointing_at_the_attribute() {
    let site = start().await;
    let valid_set = json!({"value": "{}"});
    let cases = [
        (json!({"set": valid_set, "status": "READY"}), "name"),
        (
            json!({"name": "n".repeat(256), "set": valid_set, "status": "READY"}),
            "name",
        ),
        (json!({"name": "n", "status": "READY"}), "set"),
        (
            json!({"name": "n", "set": {"value": "{oops"}, "status": "READY"}),
            "set",
        ),
        (json!({"name": "n", "set": valid_set}), "status"),
        (
            json!({"name": "n", "set": valid_set, "status": "ready"}),
            "status",
        ),
    ];
    for (attributes, field) in cases {
        let document = json!({"data": {"type": "ami_set_entity--ami_set_entity", "id": UUID_A, "attributes": attributes}});
        let response = site.post_document(SETS, &document).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        assert_eq!(
            error_of(response).await["source"]["pointer"],
            format!("/data/attributes/{field}")
        );
    }
    let plain_string_set = json!({"data": {"type": "ami_set_entity--ami_set_entity", "id": UUID_A,
        "attributes": {"name": "n", "set": "{\"plugin\":\"spreadsheet\"}", "status": "NOT_READY"}}});
    assert_eq!(
        site.post_document(SETS, &plain_string_set).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(site.emulator.record().ami_sets().len(), 1);
}

#[tokio::test]
async fn a_set_can_be_patched_and_deleted() {
    let site = start().await;
    let path = format!("{SETS}/{UUID_A}");
    site.post_document(SETS, &ami_set_document(UUID_A, "Set"))
        .await;
    assert_eq!(
        site.post_document(SETS, &ami_set_document(UUID_A, "Set"))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let patch = json!({"data": {"type": "ami_set_entity--ami_set_entity", "id": UUID_A, "attributes": {"status": "ENQUEUED"}}});
    let response = site.patch_document(&path, &patch).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        site.emulator.record().ami_set(UUID_A).expect("set").status,
        "ENQUEUED"
    );
    assert_eq!(site.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(site.get(&path).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_set_s_attached_file_is_readable_through_its_related_route() {
    let site = start().await;
    site.post_document(SETS, &ami_set_document(UUID_A, "Docket job 1"))
        .await;
    let related = format!("{SETS}/{UUID_A}/source_data");
    let empty: Value = site.get(&related).await.json().await.expect("JSON");
    assert!(empty["data"].is_null(), "{empty}");
    site.upload(&related, "docket.csv", b"node_uuid,type,label\n")
        .await;
    let attached: Value = site.get(&related).await.json().await.expect("JSON");
    assert_eq!(attached["data"]["type"], "file--file");
    assert_eq!(attached["data"]["attributes"]["filename"], "docket.csv");
    let missing = site.get(&format!("{SETS}/{UUID_B}/source_data")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
