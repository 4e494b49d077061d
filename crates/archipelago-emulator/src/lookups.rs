//! Reads that Drupal core's JSON:API answers for any entity type and that a careful client
//! uses to look before it repeats an upload: the `file--file` collection with a filter on
//! `filename`, and an entity's related file (`GET …/{uuid}/{field}`).

use std::collections::HashMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::errors::{ApiError, JSONAPI};
use crate::resource;
use crate::site::Site;

fn document(data: Value, site: &Site, path: &str) -> Response {
    let body = json!({
        "jsonapi": { "version": "1.0" },
        "data": data,
        "links": { "self": { "href": site.link(path) } },
    });
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSONAPI));
    response
}

/// `GET /jsonapi/file/file[?filter[filename]=NAME]`, in fid order. Drupal's shorthand filter
/// `filter[FIELD]=VALUE` is an equality condition; other filters are refused with 400 (the
/// emulator knows no others).
pub(crate) fn files(site: &Site, query: &HashMap<String, String>) -> Result<Response, ApiError> {
    let mut filename = None;
    for (key, value) in query {
        match key.as_str() {
            "filter[filename]" => filename = Some(value.clone()),
            key if key.starts_with("filter") => {
                return Err(ApiError::bad_request(format!(
                    "The emulator filters files by `filename` only, not `{key}`."
                )))
            }
            _ => {}
        }
    }
    let store = site.store();
    let data: Vec<Value> = store
        .files
        .values()
        .filter(|file| filename.as_deref().is_none_or(|name| file.filename == name))
        .map(|file| resource::file(site, file))
        .collect();
    Ok(document(Value::Array(data), site, "/jsonapi/file/file"))
}

/// `GET /jsonapi/ami_set_entity/ami_set_entity/{uuid}/{field}`: the file in one of a set's
/// file fields, or `data: null`.
pub(crate) fn ami_set_file(site: &Site, uuid: &str, field: &str) -> Result<Response, ApiError> {
    let store = site.store();
    let set = store.ami_sets.get(uuid).ok_or_else(|| {
        ApiError::not_found(format!(
            "The requested resource ami_set_entity--ami_set_entity with id {uuid} was not found."
        ))
    })?;
    let fid = match field {
        "source_data" => set.source_data,
        "zip_file" => set.zip_file,
        "processed_data" | "report_file" => None,
        _ => return Err(ApiError::not_found("No route found for this path.")),
    };
    let data = fid
        .and_then(|fid| store.files.get(&fid))
        .map_or(Value::Null, |file| resource::file(site, file));
    let path = format!("{}/{field}", resource::ami_set_path(uuid));
    Ok(document(data, site, &path))
}
