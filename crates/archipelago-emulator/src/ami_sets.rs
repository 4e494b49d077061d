//! `ami_set_entity--ami_set_entity`: create, read, update, delete.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::document;
use crate::errors::ApiError;
use crate::record::AmiSetRecord;
use crate::resource;
use crate::site::Site;
use crate::store::now;

pub(crate) const TYPE: &str = "ami_set_entity--ami_set_entity";
pub(crate) const STATUSES: [&str; 9] = [
    "READY",
    "NOT_READY",
    "ENQUEUED",
    "PROCESSING",
    "PROCESSING_WITH_ERRORS",
    "PROCESSED",
    "PROCESSED_WITH_ERRORS",
    "FAILED",
    "ENTITIES_DELETED",
];

struct Changes {
    name: Option<String>,
    set: Option<String>,
    status: Option<String>,
}

fn changes(attributes: &Map<String, Value>) -> Result<Changes, ApiError> {
    let name = document::string(attributes, "name")?;
    if let Some(name) = &name {
        document::at_most("name", name, 255)?;
    }
    let set = document::text_value(attributes, "set")?;
    if let Some(set) = &set {
        document::parse_json_text("set", set)?;
    }
    let status = document::string(attributes, "status")?;
    if let Some(status) = &status {
        document::one_of("status", status, &STATUSES)?;
    }
    Ok(Changes { name, set, status })
}

pub(crate) fn missing(uuid: &str) -> ApiError {
    ApiError::not_found(format!(
        "The requested resource {TYPE} with id {uuid} was not found."
    ))
}

pub(crate) fn create(site: &Site, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    let request = document::parse(headers, body, TYPE)?;
    let mut store = site.store();
    let uuid = store.new_entity_id(request.id.as_deref())?;
    let changes = changes(&request.attributes)?;
    let name = document::required("name", changes.name)?;
    let set = document::required("set", changes.set)?;
    let status = document::required("status", changes.status)?;
    let created = now();
    let record = AmiSetRecord {
        uuid: uuid.clone(),
        id: store.next_ami_id(),
        name,
        status,
        set,
        source_data: None,
        zip_file: None,
        created: created.clone(),
        changed: created,
    };
    let rendered = resource::ami_set(site, &store, &record);
    store.ami_sets.insert(uuid.clone(), record);
    Ok(resource::respond(
        StatusCode::CREATED,
        site,
        rendered,
        &resource::ami_set_path(&uuid),
    ))
}

pub(crate) fn read(site: &Site, uuid: &str) -> Result<Response, ApiError> {
    let store = site.store();
    let set = store.ami_sets.get(uuid).ok_or_else(|| missing(uuid))?;
    Ok(resource::respond(
        StatusCode::OK,
        site,
        resource::ami_set(site, &store, set),
        &resource::ami_set_path(uuid),
    ))
}

pub(crate) fn update(
    site: &Site,
    uuid: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let mut store = site.store();
    if !store.ami_sets.contains_key(uuid) {
        return Err(missing(uuid));
    }
    let request = document::parse(headers, body, TYPE)?;
    document::same_id(&request, uuid)?;
    let changes = changes(&request.attributes)?;
    let set = store.ami_sets.get_mut(uuid).ok_or_else(|| missing(uuid))?;
    if let Some(name) = changes.name {
        set.name = name;
    }
    if let Some(config) = changes.set {
        set.set = config;
    }
    if let Some(status) = changes.status {
        set.status = status;
    }
    set.changed = now();
    let set = set.clone();
    Ok(resource::respond(
        StatusCode::OK,
        site,
        resource::ami_set(site, &store, &set),
        &resource::ami_set_path(uuid),
    ))
}

pub(crate) fn delete(site: &Site, uuid: &str) -> Result<Response, ApiError> {
    let mut store = site.store();
    store.ami_sets.remove(uuid).ok_or_else(|| missing(uuid))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
