//! Rendering stored entities as JSON:API resources and documents.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::errors::JSONAPI;
use crate::record::{AmiSetRecord, FileRecord, FileStatus, NodeRecord};
use crate::site::Site;
use crate::store::Store;

pub(crate) fn node_path(bundle: &str, uuid: &str) -> String {
    format!("/jsonapi/node/{bundle}/{uuid}")
}

pub(crate) fn ami_set_path(uuid: &str) -> String {
    format!("/jsonapi/ami_set_entity/ami_set_entity/{uuid}")
}

pub(crate) fn file_path(uuid: &str) -> String {
    format!("/jsonapi/file/file/{uuid}")
}

fn self_link(site: &Site, path: &str) -> Value {
    json!({ "self": { "href": site.link(path) } })
}

pub(crate) fn node(site: &Site, node: &NodeRecord) -> Value {
    json!({
        "type": format!("node--{}", node.bundle),
        "id": node.uuid,
        "attributes": {
            "drupal_internal__nid": node.nid,
            "langcode": "en",
            "title": node.title,
            "status": node.moderation_state == "published",
            "moderation_state": node.moderation_state,
            "created": node.created,
            "changed": node.changed,
            "field_descriptive_metadata": { "value": node.field_descriptive_metadata },
        },
        "links": self_link(site, &node_path(&node.bundle, &node.uuid)),
    })
}

fn file_relationship(
    site: &Site,
    store: &Store,
    set: &AmiSetRecord,
    field: &str,
    fid: Option<u64>,
) -> Value {
    let data = fid
        .and_then(|fid| store.files.get(&fid).map(|file| file.uuid.clone()))
        .map_or(
            Value::Null,
            |uuid| json!({ "type": "file--file", "id": uuid }),
        );
    let base = ami_set_path(&set.uuid);
    json!({
        "data": data,
        "links": {
            "related": { "href": site.link(&format!("{base}/{field}")) },
            "self": { "href": site.link(&format!("{base}/relationships/{field}")) },
        },
    })
}

pub(crate) fn ami_set(site: &Site, store: &Store, set: &AmiSetRecord) -> Value {
    json!({
        "type": "ami_set_entity--ami_set_entity",
        "id": set.uuid,
        "attributes": {
            "drupal_internal__id": set.id,
            "langcode": "en",
            "name": set.name,
            "set": { "value": set.set },
            "status": set.status,
            "created": set.created,
            "changed": set.changed,
        },
        "relationships": {
            "source_data": file_relationship(site, store, set, "source_data", set.source_data),
            "zip_file": file_relationship(site, store, set, "zip_file", set.zip_file),
            "processed_data": file_relationship(site, store, set, "processed_data", None),
            "report_file": file_relationship(site, store, set, "report_file", None),
        },
        "links": self_link(site, &ami_set_path(&set.uuid)),
    })
}

pub(crate) fn file(site: &Site, file: &FileRecord) -> Value {
    json!({
        "type": "file--file",
        "id": file.uuid,
        "attributes": {
            "drupal_internal__fid": file.fid,
            "langcode": "en",
            "filename": file.filename,
            "uri": { "value": file.uri, "url": file_url(site, file) },
            "filemime": file.filemime,
            "filesize": file.size,
            "status": file.status == FileStatus::Permanent,
            "created": file.created,
            "changed": file.changed,
        },
        "links": self_link(site, &file_path(&file.uuid)),
    })
}

/// Where Drupal serves a `private://` file.
pub(crate) fn file_url(site: &Site, file: &FileRecord) -> String {
    let relative = file.uri.trim_start_matches("private://");
    site.link(&format!("/system/files/{relative}"))
}

/// A `{"jsonapi", "data", "links"}` answer; `location` is set on 201.
pub(crate) fn respond(status: StatusCode, site: &Site, resource: Value, path: &str) -> Response {
    let document = json!({
        "jsonapi": { "version": "1.0" },
        "data": resource,
        "links": self_link(site, path),
    });
    let mut response = (status, document.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSONAPI));
    if status == StatusCode::CREATED {
        if let Ok(location) = HeaderValue::from_str(&site.link(path)) {
            headers.insert(header::LOCATION, location);
        }
    }
    response
}
