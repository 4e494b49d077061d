//! `node--digital_object` and `node--digital_object_collection`: create, read, update, delete.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::document::{self, RequestDocument};
use crate::errors::ApiError;
use crate::record::NodeRecord;
use crate::resource;
use crate::site::Site;
use crate::store::{now, Store};
use crate::strawberry;

pub(crate) const BUNDLES: [&str; 2] = ["digital_object", "digital_object_collection"];
const MODERATION_STATES: [&str; 3] = ["draft", "published", "archived"];
const METADATA: &str = "field_descriptive_metadata";

/// The attributes a request sets; `None` keeps what is stored (PATCH) or is missing (POST).
struct Changes {
    title: Option<String>,
    moderation_state: Option<String>,
    metadata: Option<String>,
}

fn changes(attributes: &Map<String, Value>) -> Result<Changes, ApiError> {
    let title = document::string(attributes, "title")?;
    if let Some(title) = &title {
        document::at_most("title", title, 255)?;
    }
    let moderation_state = document::string(attributes, "moderation_state")?;
    if let Some(state) = &moderation_state {
        document::one_of("moderation_state", state, &MODERATION_STATES)?;
    }
    let metadata = document::text_value(attributes, METADATA)?;
    Ok(Changes {
        title,
        moderation_state,
        metadata,
    })
}

fn parse(bundle: &str, headers: &HeaderMap, body: &[u8]) -> Result<RequestDocument, ApiError> {
    document::parse(headers, body, &format!("node--{bundle}"))
}

fn missing(bundle: &str, uuid: &str) -> ApiError {
    ApiError::not_found(format!(
        "The requested resource node--{bundle} with id {uuid} was not found."
    ))
}

/// A node of this bundle is stored under `uuid` (else 404).
fn stored(store: &Store, bundle: &str, uuid: &str) -> Result<(), ApiError> {
    match store.nodes.get(uuid) {
        Some(node) if node.bundle == bundle => Ok(()),
        _ => Err(missing(bundle, uuid)),
    }
}

pub(crate) fn create(
    site: &Site,
    bundle: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let request = parse(bundle, headers, body)?;
    let mut store = site.store();
    let uuid = store.new_entity_id(request.id.as_deref())?;
    let changes = changes(&request.attributes)?;
    let title = document::required("title", changes.title)?;
    let metadata = document::required(METADATA, changes.metadata)?;
    let saved = strawberry::prepare(site, &store, &metadata)?;
    strawberry::make_permanent(&mut store, &saved.fids);
    let created = now();
    let node = NodeRecord {
        uuid: uuid.clone(),
        nid: store.next_nid(),
        bundle: bundle.to_owned(),
        title,
        moderation_state: changes.moderation_state.unwrap_or_else(|| "draft".into()),
        field_descriptive_metadata: saved.metadata,
        files: saved.fids,
        created: created.clone(),
        changed: created,
    };
    let rendered = resource::node(site, &node);
    store.nodes.insert(uuid.clone(), node);
    Ok(resource::respond(
        StatusCode::CREATED,
        site,
        rendered,
        &resource::node_path(bundle, &uuid),
    ))
}

pub(crate) fn read(site: &Site, bundle: &str, uuid: &str) -> Result<Response, ApiError> {
    let store = site.store();
    let node = store
        .nodes
        .get(uuid)
        .filter(|node| node.bundle == bundle)
        .ok_or_else(|| missing(bundle, uuid))?;
    Ok(resource::respond(
        StatusCode::OK,
        site,
        resource::node(site, node),
        &resource::node_path(bundle, uuid),
    ))
}

pub(crate) fn update(
    site: &Site,
    bundle: &str,
    uuid: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let mut store = site.store();
    stored(&store, bundle, uuid)?;
    let request = parse(bundle, headers, body)?;
    document::same_id(&request, uuid)?;
    let changes = changes(&request.attributes)?;
    let saved = match &changes.metadata {
        Some(text) => Some(strawberry::prepare(site, &store, text)?),
        None => None,
    };
    if let Some(saved) = &saved {
        strawberry::make_permanent(&mut store, &saved.fids);
    }
    let node = store
        .nodes
        .get_mut(uuid)
        .ok_or_else(|| missing(bundle, uuid))?;
    if let Some(title) = changes.title {
        node.title = title;
    }
    if let Some(state) = changes.moderation_state {
        node.moderation_state = state;
    }
    if let Some(saved) = saved {
        node.field_descriptive_metadata = saved.metadata;
        node.files = saved.fids;
    }
    node.changed = now();
    Ok(resource::respond(
        StatusCode::OK,
        site,
        resource::node(site, node),
        &resource::node_path(bundle, uuid),
    ))
}

pub(crate) fn delete(site: &Site, bundle: &str, uuid: &str) -> Result<Response, ApiError> {
    let mut store = site.store();
    stored(&store, bundle, uuid)?;
    store.nodes.remove(uuid);
    Ok(StatusCode::NO_CONTENT.into_response())
}
