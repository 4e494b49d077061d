//! The `/jsonapi` router: paths to handlers, and the layers in front of them.

use axum::body::Body;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use bytes::Bytes;

use crate::errors::ApiError;
use crate::files::{self, UploadField};
use crate::record::UploadTarget;
use crate::site::SharedSite;
use crate::{ami_sets, auth, gate, lookups, nodes, resource};

/// Entity documents are small; this only bounds what a broken client can make us buffer.
const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// The entity types the emulated site exposes.
enum Kind {
    Node(String),
    AmiSet,
    File,
}

fn kind(entity_type: &str, bundle: &str) -> Result<Kind, ApiError> {
    match (entity_type, bundle) {
        ("node", bundle) if nodes::BUNDLES.contains(&bundle) => Ok(Kind::Node(bundle.to_owned())),
        ("ami_set_entity", "ami_set_entity") => Ok(Kind::AmiSet),
        ("file", "file") => Ok(Kind::File),
        _ => Err(no_route()),
    }
}

fn no_route() -> ApiError {
    ApiError::not_found("No route found for this path.")
}

async fn not_found() -> ApiError {
    no_route()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "No route found for this method on this path.",
    )
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_DOCUMENT_BYTES)
        .await
        .map_err(|error| ApiError::bad_request(format!("Reading the request body failed: {error}")))
}

async fn create(
    State(site): State<SharedSite>,
    Path((entity_type, bundle)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let kind = kind(&entity_type, &bundle)?;
    let body = read_body(body).await?;
    match kind {
        Kind::Node(bundle) => nodes::create(&site, &bundle, &headers, &body),
        Kind::AmiSet => ami_sets::create(&site, &headers, &body),
        Kind::File => Err(method_not_allowed().await),
    }
}

async fn read(
    State(site): State<SharedSite>,
    Path((entity_type, bundle, uuid)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    match kind(&entity_type, &bundle)? {
        Kind::Node(bundle) => nodes::read(&site, &bundle, &uuid),
        Kind::AmiSet => ami_sets::read(&site, &uuid),
        Kind::File => {
            let store = site.store();
            let file = store.file_by_uuid(&uuid).ok_or_else(|| {
                ApiError::not_found(format!(
                    "The requested resource file--file with id {uuid} was not found."
                ))
            })?;
            Ok(resource::respond(
                StatusCode::OK,
                &site,
                resource::file(&site, file),
                &resource::file_path(&uuid),
            ))
        }
    }
}

async fn update(
    State(site): State<SharedSite>,
    Path((entity_type, bundle, uuid)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let kind = kind(&entity_type, &bundle)?;
    let body = read_body(body).await?;
    match kind {
        Kind::Node(bundle) => nodes::update(&site, &bundle, &uuid, &headers, &body),
        Kind::AmiSet => ami_sets::update(&site, &uuid, &headers, &body),
        Kind::File => Err(method_not_allowed().await),
    }
}

async fn delete(
    State(site): State<SharedSite>,
    Path((entity_type, bundle, uuid)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    match kind(&entity_type, &bundle)? {
        Kind::Node(bundle) => nodes::delete(&site, &bundle, &uuid),
        Kind::AmiSet => ami_sets::delete(&site, &uuid),
        Kind::File => Err(method_not_allowed().await),
    }
}

/// `GET /jsonapi/{type}/{bundle}`: a collection (the emulator lists files only).
async fn collection(
    State(site): State<SharedSite>,
    Path((entity_type, bundle)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    match kind(&entity_type, &bundle)? {
        Kind::File => lookups::files(&site, &query),
        _ => Err(ApiError::bad_request(
            "The emulator lists file--file collections only.",
        )),
    }
}

/// `GET /jsonapi/{type}/{bundle}/{uuid}/{field}`: an entity's related file.
async fn related(
    State(site): State<SharedSite>,
    Path((entity_type, bundle, uuid, field)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    match kind(&entity_type, &bundle)? {
        Kind::AmiSet => lookups::ami_set_file(&site, &uuid, &field),
        _ => Err(no_route()),
    }
}

/// `POST /jsonapi/{type}/{bundle}/{field}`: a free (temporary) file.
async fn upload_free(
    State(site): State<SharedSite>,
    Path((entity_type, bundle, field_name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let field = UploadField::find(&entity_type, &bundle, &field_name).ok_or_else(no_route)?;
    let target = UploadTarget {
        entity_type,
        bundle,
        field: field_name,
        entity: None,
    };
    files::upload_free(&site, target, field, &headers, body).await
}

/// `POST /jsonapi/{type}/{bundle}/{uuid}/{field}`: into an existing AMI set's file field.
async fn upload_into(
    State(site): State<SharedSite>,
    Path((entity_type, bundle, uuid, field_name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    match UploadField::find(&entity_type, &bundle, &field_name) {
        Some(field @ (UploadField::SourceData | UploadField::ZipFile)) => {
            files::upload_into_ami_set(&site, &uuid, field, &headers, body).await
        }
        _ => Err(no_route()),
    }
}

/// `GET /system/files/{path}`: a stored file's bytes, behind the same Basic auth.
async fn private_file(
    State(site): State<SharedSite>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let uri = format!("private://{path}");
    let store = site.store();
    let file = store
        .files
        .values()
        .find(|file| file.uri == uri)
        .ok_or_else(|| ApiError::not_found("No such file."))?;
    let bytes = store.bytes.get(&file.fid).cloned().unwrap_or_default();
    Ok((
        [(axum::http::header::CONTENT_TYPE, file.filemime.clone())],
        bytes,
    )
        .into_response())
}

/// Every `/jsonapi` route (and the private file path), behind log → faults → read-only → auth.
pub(crate) fn jsonapi(site: SharedSite) -> Router<SharedSite> {
    Router::new()
        .route(
            "/jsonapi/{entity_type}/{bundle}",
            post(create).get(collection).fallback(method_not_allowed),
        )
        .route(
            "/jsonapi/{entity_type}/{bundle}/{id}",
            get(read)
                .patch(update)
                .delete(delete)
                .post(upload_free)
                .fallback(method_not_allowed),
        )
        .route(
            "/jsonapi/{entity_type}/{bundle}/{id}/{field}",
            post(upload_into).get(related).fallback(method_not_allowed),
        )
        .route("/jsonapi", any(not_found))
        .route("/system/files/{*path}", get(private_file))
        .layer(from_fn_with_state(site.clone(), auth::require_basic_auth))
        .layer(from_fn_with_state(
            site.clone(),
            gate::refuse_writes_when_read_only,
        ))
        .layer(from_fn_with_state(site.clone(), gate::apply_faults))
        .layer(from_fn_with_state(site, gate::log_request))
}
