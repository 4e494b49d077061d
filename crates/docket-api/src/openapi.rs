//! `GET /openapi.json`: the OpenAPI 3.1 document of the HTTP API, generated from the code by
//! utoipa. The resource schemas are derived on the types themselves (`docket-core` and
//! `docket-store`, built with their `openapi` feature), so they cannot drift from the JSON.
//!
//! # Adding an endpoint
//!
//! 1. Put `#[utoipa::path(...)]` on the handler, next to its route:
//!
//!    ```text
//!    #[utoipa::path(patch, path = "/v1/documents/{id}", tag = "documents",
//!        operation_id = "update_document", params(DocumentPath),
//!        request_body = DocumentPatch,
//!        responses(
//!            (status = 200, description = "The updated document", body = Document),
//!            (status = 400, description = "Invalid body"),
//!            (status = 404, description = "No such document"),
//!        ))]
//!    pub async fn update(...)
//!    ```
//!
//!    - `path` exactly as in the router; `operation_id` unique (`verb_noun`).
//!    - Give 2xx responses a `body` (with `content_type` when it is not JSON); request and
//!      response types derive `utoipa::ToSchema` (query structs derive `utoipa::IntoParams`).
//!    - 4xx/5xx responses need only a `description`: [`Conventions`] gives each the
//!      `application/problem+json` [`Problem`] body.
//!    - Endpoints are authenticated by default: [`Conventions`] adds the bearer requirement's
//!      401, 500 and 503. A public endpoint says `security(())` and lists its own errors.
//! 2. Add the handler to `paths(...)` of [`ApiDoc`] below: one line.
//!
//! `tests/openapi.rs` fails when a route of the router is missing from the document, and when
//! the document names an operation the router does not serve.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use docket_core::JobOptions;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response as ApiResponse};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::{
    categories, classify, dashboard, document_files, documents, events, health, jobs, labels, me,
    metrics, publish, reindex, remotes, results, schedules, search, submit, uploads, ws,
    ws_tickets,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Docket",
        description = "Bulk document processing as durable jobs. Every error is \
                       `application/problem+json` (RFC 9457) with a stable `code`; every list \
                       is paginated with an opaque cursor.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        submit::submit,
        uploads::options,
        uploads::create,
        uploads::head,
        uploads::append,
        uploads::terminate,
        jobs::list,
        jobs::show,
        jobs::delete,
        jobs::change,
        jobs::pause,
        jobs::resume,
        jobs::cancel,
        jobs::items,
        results::results,
        publish::publish,
        publish::targets,
        remotes::list,
        events::job_events,
        events::all_events,
        ws::job_ws,
        ws::all_ws,
        ws_tickets::create,
        documents::show,
        documents::text,
        document_files::file,
        document_files::thumbnail,
        labels::label,
        search::search,
        categories::list,
        categories::create,
        categories::show,
        categories::replace,
        categories::delete,
        classify::classify,
        reindex::reindex,
        me::me,
        schedules::list,
        schedules::create,
        schedules::show,
        schedules::change,
        schedules::delete,
        health::healthz,
        health::readyz,
        metrics::metrics,
        openapi_json,
        dashboard::index,
        dashboard::file,
    ),
    // Schemas only parameters name (they are not collected from there), and extras.
    components(schemas(
        Problem,
        docket_core::ErrorCode,
        docket_core::Stage,
        docket_core::JobState,
        docket_core::JobKind,
        docket_core::ItemState,
        results::Format,
        results::Include,
    )),
    security(("bearer" = [])),
    modifiers(&Conventions),
    tags(
        (name = "jobs", description = "Submit, watch and control jobs; read their results"),
        (name = "uploads", description = "Resumable uploads (tus 1.0: creation, \
            creation-with-upload, termination, expiration, checksum sha256); a finished upload \
            is submitted as `source.uploads`"),
        (name = "schedules", description = "Recurring jobs: a cron expression in a time zone \
            and the job each tick submits"),
        (name = "events", description = "Live progress as Server-Sent Events"),
        (name = "documents", description = "The stored outcome of each input file"),
        (name = "search", description = "Full-text search over documents"),
        (name = "classification", description = "Category rules, hand labels, one-off \
            classification and reindexing"),
        (name = "system", description = "Health, readiness, metrics and this document"),
        (name = "dashboard", description = "The web dashboard's static files"),
    ),
)]
pub struct ApiDoc;

/// The document, as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as served: [`document`] with its links (see `openapi_links`).
pub fn document_json() -> serde_json::Value {
    let mut doc = serde_json::to_value(document()).unwrap_or_default();
    crate::openapi_links::add_links(&mut doc);
    doc
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "system", operation_id = "openapi",
    security(()),
    responses((status = 200, description = "This document (OpenAPI 3.1)",
        body = serde_json::Value, content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| document_json().to_string());
    ([(header::CONTENT_TYPE, "application/json")], body.as_str()).into_response()
}

/// An error: RFC 9457 problem details, served as `application/problem+json`.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: `AppError` writes the JSON.
pub(crate) struct Problem {
    /// `https://docket.dev/problems/` and the code with dashes.
    #[schema(rename = "type", format = "uri")]
    kind: String,
    /// The HTTP status's reason phrase.
    title: String,
    /// The HTTP status.
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    /// Stable and machine-readable: one of a closed set, each with one HTTP status.
    code: docket_core::ErrorCode,
    /// For humans. Never carries internal details.
    detail: String,
}

/// `{id}` of the `/v1/jobs/{id}` endpoints.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(crate) struct JobPath {
    /// A job id (`job_` and 32 lowercase hex digits). Another user's job answers 404.
    id: String,
}

/// `{id}` of the `/v1/documents/{id}` endpoints.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(crate) struct DocumentPath {
    /// A document id. Another user's document answers 404.
    id: String,
}

/// The kinds of job submitted as JSON (an upload is always `process`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum SubmitKind {
    /// Process the files of `source.path`, a folder on the server under an allowed root.
    Process,
    /// `source.count` synthetic items of `source.sleep_ms` each (for tests and benchmarks).
    Noop,
}

/// How a category rule matches (paperless-style), or `auto` for the learned classifier.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum CategoryAlgorithm {
    /// Any of the pattern's words.
    Any,
    /// All of the pattern's words.
    All,
    /// The pattern as one phrase.
    Literal,
    /// The pattern as a regular expression.
    Regex,
    /// The pattern, allowing for OCR errors.
    Fuzzy,
    /// Learned from documents labelled by hand.
    Auto,
}

/// A multipart submit: the files, and optionally the options.
#[derive(ToSchema)]
#[schema(as = JobUpload)]
#[allow(dead_code)]
pub(crate) struct JobUpload {
    /// One part per file (also accepted as `file` or `files[]`); the part's file name, folders
    /// included, becomes the item's name.
    #[schema(value_type = Vec<String>, format = Binary, min_items = 1)]
    files: Vec<Vec<u8>>,
    /// The submit options, as JSON.
    options: Option<JobOptions>,
}

/// Raw bytes (a file, an image): `body = crate::openapi::Binary` with its `content_type`.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub(crate) struct Binary(Vec<u8>);

/// A multipart `POST /v1/classify`: one file.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ClassifyUpload {
    /// The file to classify (at most 10 MiB).
    file: Binary,
}

/// One item's output in `GET /v1/jobs/{id}/results?format=json` (an ndjson line has the same
/// fields; csv has the columns `item_id,name,document_id,media_type,category,output`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ResultEntry {
    item_id: String,
    name: String,
    /// `succeeded`, `failed` or `cancelled`.
    state: String,
    /// The rest of the flat columns; `null` where the item has none (failed, cancelled or
    /// noop items have no document).
    #[schema(required = true)]
    document_id: Option<String>,
    #[schema(required = true)]
    sha256: Option<String>,
    #[schema(required = true)]
    media_type: Option<String>,
    #[schema(required = true)]
    size: Option<i64>,
    #[schema(required = true)]
    pages: Option<i64>,
    #[schema(required = true)]
    category: Option<String>,
    #[schema(required = true)]
    confidence: Option<f64>,
    /// How the category was decided (`rule:NAME`, `auto`, …).
    #[schema(required = true)]
    matched_by: Option<String>,
    /// Whether the results of an earlier document with the same bytes were reused.
    reused: bool,
    /// The last error of a failed item.
    #[schema(required = true)]
    error: Option<String>,
    /// What the item produced (for `process`: `document_id`, `media_type`, `category`, …);
    /// `null` for failed and cancelled items.
    #[schema(required = true)]
    output: Option<serde_json::Value>,
}

/// `GET /healthz`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Health {
    #[schema(example = "ok")]
    status: String,
}

/// `GET /readyz`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Ready {
    #[schema(example = "ready")]
    status: String,
    /// The database backend: `sqlite` or `postgres`.
    database: String,
}

/// The conventions every operation follows, so that handlers need not repeat them: the bearer
/// scheme, the errors of authenticated endpoints, and problem+json on every error.
pub(crate) struct Conventions;

const PROBLEM_JSON: &str = "application/problem+json";

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <token>`; create a token with \
                         `docket token create` (the first start saves one to \
                         `$DOCKET_DATA_DIR/token`).",
                    ))
                    .build(),
            ),
        );
        for item in doc.paths.paths.values_mut() {
            for op in operations(item) {
                let public = op
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()));
                if public {
                    // `[{}]` would mean "optional"; `[]` says no authentication at all.
                    op.security = Some(Vec::new());
                } else {
                    for (status, description) in [
                        ("401", "Missing, malformed, unknown or revoked bearer token"),
                        (
                            "429",
                            "The token's request budget is spent, or this address failed \
                             authentication too often: `Retry-After` says when to try again",
                        ),
                        (
                            "500",
                            "Something went wrong on the server's side (it is logged)",
                        ),
                        (
                            "503",
                            "The database is busy or unreachable; try again shortly",
                        ),
                    ] {
                        op.responses
                            .responses
                            .entry(status.to_string())
                            .or_insert_with(|| RefOr::T(ApiResponse::new(description)));
                    }
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    let error = status.starts_with('4') || status.starts_with('5');
                    if let (true, RefOr::T(response)) = (error, response) {
                        if response.content.is_empty() {
                            response.content.insert(
                                PROBLEM_JSON.to_string(),
                                Content::new(Some(Ref::from_schema_name("Problem"))),
                            );
                        }
                    }
                }
            }
        }
    }
}
