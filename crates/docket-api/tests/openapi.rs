//! The OpenAPI document (`GET /openapi.json`): a valid OpenAPI 3.1 document, following the
//! API's conventions, and in step with the router both ways: every route of the router is
//! documented (a new endpoint without `#[utoipa::path]` fails here), and every documented
//! operation is served.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use docket_api::{ApiConfig, AppState, JobCache, TokenCache};
use serde_json::Value;
use tower::ServiceExt;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document as served, links included.
fn document() -> Value {
    docket_api::openapi_json()
}

/// `(METHOD, path)` of every documented operation, with the operation.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.insert((method.to_uppercase(), path.clone()), op.clone());
            }
        }
    }
    out
}

/// Every `$ref` in `value`, with where it was found.
fn refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push((v.as_str().unwrap_or_default().to_string(), at.to_string()));
                } else {
                    refs(v, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let json = serde_json::to_string_pretty(&docket_api::openapi_json()).expect("serializes");
    if let Some(out) = std::env::var_os("DOCKET_OPENAPI_OUT") {
        std::fs::write(out, &json).expect("writing DOCKET_OPENAPI_OUT");
    }
    let spec = oas3::from_json(&json).expect("the document parses as OpenAPI 3.1");
    let version = spec
        .validate_version()
        .expect("a supported OpenAPI version");
    assert_eq!((version.major, version.minor), (3, 1));
    let mut operation_ids = BTreeSet::new();
    for (path, method, op) in spec.operations() {
        let id = op
            .operation_id
            .clone()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(
            operation_ids.insert(id.clone()),
            "operationId {id} is not unique"
        );
        // Every reference of the operation resolves.
        let params = op
            .parameters(&spec)
            .unwrap_or_else(|e| panic!("{method} {path}: parameters: {e}"));
        op.request_body(&spec)
            .unwrap_or_else(|e| panic!("{method} {path}: request body: {e}"));
        let responses = op.responses(&spec);
        assert!(!responses.is_empty(), "{method} {path} has no responses");
        // Every `{name}` of the path is a declared path parameter, and nothing else is.
        let in_template: BTreeSet<String> = path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
            .collect();
        let declared: BTreeSet<String> = params
            .iter()
            .filter(|p| matches!(p.location, oas3::spec::ParameterIn::Path))
            .map(|p| p.name.clone())
            .collect();
        assert_eq!(in_template, declared, "{method} {path}: path parameters");
    }
    // Every `$ref` anywhere points at a component that exists.
    let doc: Value = serde_json::from_str(&json).unwrap();
    let mut all = Vec::new();
    refs(&doc, "#", &mut all);
    assert!(!all.is_empty());
    for (target, at) in all {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: external reference {target}"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{at}: dangling reference {target}"
        );
    }
}

#[test]
fn operations_follow_the_conventions() {
    let doc = document();
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "code", "detail"] {
        assert!(
            problem["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|f| f == field)),
            "Problem lacks `{field}`: {problem}"
        );
    }
    for ((method, path), op) in operations(&doc) {
        let what = format!("{method} {path}");
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{what} has no tag"
        );
        let public = op.get("security") == Some(&serde_json::json!([]));
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses
                .keys()
                // 101: a WebSocket route's success is the switch of protocols.
                .any(|s| s.starts_with('2') || s.starts_with('3') || s == "101"),
            "{what} documents no success"
        );
        if !public {
            assert!(responses.contains_key("401"), "{what}: no 401");
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{what} {status} is not problem+json"
                );
            }
        }
    }
    // The public endpoints, and no others.
    let public: BTreeSet<String> = operations(&doc)
        .into_iter()
        .filter(|(_, op)| op.get("security") == Some(&serde_json::json!([])))
        .map(|((_, path), _)| path)
        .collect();
    let expected: BTreeSet<String> = [
        "/",
        "/dashboard/{file}",
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/readyz",
        // tus discovery (`OPTIONS`): the server's capabilities, nothing of anyone's uploads.
        "/v1/uploads",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(public, expected);
}

#[test]
fn resources_match_their_json() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let required = |name: &str| -> BTreeSet<String> {
        schemas[name]["required"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no required list: {}", schemas[name]))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let properties = |name: &str| -> BTreeSet<String> {
        schemas[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} has no properties"))
            .keys()
            .cloned()
            .collect()
    };
    // A serialized resource has exactly the documented fields, all of them required (nullable
    // ones are sent as `null`), and its times are RFC 3339 strings.
    let job = docket_core::Job {
        id: "job_0".into(),
        user: "u".into(),
        kind: docket_core::JobKind::Noop,
        state: docket_core::JobState::Queued,
        pause_reason: None,
        pause_requested: false,
        created_at: 0,
        started_at: None,
        updated_at: 0,
        finished_at: None,
        counts: Default::default(),
        progress: 0.0,
        items_per_second: 0.0,
        eta_seconds: None,
        current_items: Vec::new(),
        consecutive_failures: 0,
        options: Default::default(),
        error: None,
        result: None,
        webhook: None,
    };
    let json = serde_json::to_value(&job).unwrap();
    let keys: BTreeSet<String> = json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, properties("Job"));
    assert_eq!(keys, required("Job"));
    let created = &schemas["Job"]["properties"]["created_at"];
    assert_eq!(created["type"], "string", "{created}");
    assert_eq!(created["format"], "date-time", "{created}");
    let finished = &schemas["Job"]["properties"]["finished_at"];
    assert_eq!(
        finished["type"],
        serde_json::json!(["string", "null"]),
        "{finished}"
    );
    assert_eq!(schemas["JobState"]["type"], "string");
    let states: Vec<String> = docket_core::JobState::ALL
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(schemas["JobState"]["enum"], serde_json::json!(states));
    // Pages carry their items and the cursor of the next.
    for page in ["Page_Job", "Page_Item"] {
        assert_eq!(
            required(page),
            ["items", "next_cursor"]
                .into_iter()
                .map(String::from)
                .collect()
        );
    }
}

/// `(METHOD, path)` of every route the router's source registers, read from the `.route(...)`
/// calls in `src/` (the router has no runtime listing of its routes).
fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("src/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let route = regex::Regex::new(r#"\.route\(\s*"([^"]*)"\s*,"#).unwrap();
    let method = regex::Regex::new(
        r"(?:^|[\s.(]|routing::)(get|post|put|patch|delete|head|options|trace)\(",
    )
    .unwrap();
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains(".nest(") && !text.contains(".route_service("),
            "{}: nested routers are not understood by this test: teach routes_in_source",
            file.display()
        );
        for m in route.captures_iter(&text) {
            let path = m[1].to_string();
            // The method router: up to the parenthesis that closes `.route(`.
            let rest = &text[m.get(0).unwrap().end()..];
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("balanced parentheses");
            let methods: Vec<String> = method
                .captures_iter(&rest[..end])
                .map(|c| c[1].to_uppercase())
                .collect();
            assert!(
                !methods.is_empty(),
                "{}: cannot tell the methods of route {path}",
                file.display()
            );
            for m in methods {
                out.insert((m, path.clone()));
            }
        }
    }
    out
}

#[test]
fn every_route_is_documented() {
    let routes = routes_in_source();
    assert!(
        routes.contains(&("POST".into(), "/v1/jobs".into())),
        "{routes:?}"
    );
    assert!(routes.contains(&("GET".into(), "/openapi.json".into())));
    let documented: BTreeSet<(String, String)> = operations(&document()).into_keys().collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes without #[utoipa::path] in ApiDoc's paths(...) (see src/openapi.rs): \
         {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not in the router: {unrouted:?}"
    );
}

async fn app() -> axum::Router {
    let (store, _) = docket_store::testing::fresh_sqlite().await;
    let blobs_dir = tempfile_dir();
    let blobs = docket_blobs::Blobs::open(blobs_dir.to_str().unwrap()).expect("blobs");
    docket_api::router(AppState {
        store: store.clone(),
        blobs,
        engine: None,
        config: Arc::new(ApiConfig {
            upload_limit: 1024 * 1024,
            max_file_bytes: 1024 * 1024,
            storage_quota_bytes: None,
            allowed_roots: Vec::new(),
            publish_targets: Default::default(),
            remotes: Vec::new(),
            webhook_policy: Default::default(),
            upload_expiry: std::time::Duration::from_secs(3600),
            ws_ticket_key: b"test".to_vec(),
        }),
        tokens: Arc::new(TokenCache::default()),
        jobs: Arc::new(JobCache::default()),
        classifiers: docket_pipeline::Classifiers::new(store.clone()),
        extractor: docket_pipeline::ExtractorPool::new(docket_pipeline::PoolConfig::new(
            "docket",
            vec!["extractor".into()],
        )),
        metrics: None,
        services: Default::default(),
        limits: Arc::new(docket_api::RateLimits::new(&Default::default())),
    })
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "docket-openapi-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = app().await;
    for ((method, path), op) in operations(&document()) {
        let uri = path
            .replace("{id}", "job_00000000000000000000000000000000")
            .replace("{file}", "app.js");
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not routed"
        );
        assert!(
            !body.contains("no such endpoint"),
            "{method} {path} is documented but not routed"
        );
        // Without a token, an authenticated operation answers 401 as documented.
        let public = op.get("security") == Some(&serde_json::json!([]));
        if !public {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            if method == "HEAD" {
                // An answer to HEAD has no body to carry the problem (tus: HEAD an upload).
                continue;
            }
            let problem: Value = serde_json::from_str(&body).expect("problem json");
            let keys: BTreeSet<&str> = problem
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                BTreeSet::from(["type", "title", "status", "code", "detail"]),
                "the Problem schema's fields"
            );
        }
    }
}

#[tokio::test]
async fn openapi_json_serves_the_document_without_auth() {
    let app = app().await;
    let response = app
        .oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "content type"
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    let served: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, document());
}
