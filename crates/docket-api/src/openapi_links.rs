//! OpenAPI links (3.1 §4.8.20): what a client, or a stateful fuzzer, can call next with the
//! resource a call created — a submitted job's control, items and results; a new category's
//! and a new schedule's own endpoints. Added to the served JSON rather than through utoipa,
//! whose `Link` serializes `operation_id` where OpenAPI says `operationId`.

use serde_json::{json, Map, Value};

/// (the creating operation's path and method, its status, the operations that take the
/// created resource's `id`).
const LINKS: &[(&str, &str, &str, &[&str])] = &[
    (
        "/v1/jobs",
        "post",
        "202",
        &[
            "show_job",
            "list_items",
            "job_results",
            "pause_job",
            "resume_job",
            "cancel_job",
            "change_job",
            "delete_job",
        ],
    ),
    (
        "/v1/categories",
        "post",
        "201",
        &["show_category", "replace_category", "delete_category"],
    ),
    (
        "/v1/schedules",
        "post",
        "201",
        &["show_schedule", "change_schedule", "delete_schedule"],
    ),
];

/// Adds the links to `doc` (the document as JSON); a creating operation the document lacks is
/// left alone (`tests/openapi.rs` checks every target exists).
pub(crate) fn add_links(doc: &mut Value) {
    for (path, method, status, targets) in LINKS {
        let Some(response) = doc
            .pointer_mut(&format!(
                "/paths/{}/{method}/responses/{status}",
                escape(path)
            ))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let links = response
            .entry("links")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(links) = links.as_object_mut() else {
            continue;
        };
        for target in *targets {
            links.insert(
                link_name(target),
                json!({
                    "operationId": target,
                    "parameters": {"id": "$response.body#/id"},
                    "description": format!("`{target}` on the resource this call created"),
                }),
            );
        }
    }
}

/// A JSON pointer segment for a path (`/` is `~1`).
fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

/// `show_job` → `ShowJob`.
fn link_name(operation: &str) -> String {
    operation
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_point_at_operations_of_the_document() {
        let mut doc = serde_json::to_value(crate::openapi::document()).unwrap();
        add_links(&mut doc);
        let mut operations = std::collections::HashSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    operations.insert(id.to_owned());
                }
            }
        }
        let mut seen = 0;
        for (path, method, status, targets) in LINKS {
            let links = &doc["paths"][*path][*method]["responses"][*status]["links"];
            for target in *targets {
                assert!(operations.contains(*target), "no operation {target}");
                assert_eq!(
                    links[link_name(target)]["operationId"],
                    *target,
                    "{path} {method}"
                );
                seen += 1;
            }
        }
        assert_eq!(seen, 14);
        assert_eq!(link_name("show_job"), "ShowJob");
    }
}
