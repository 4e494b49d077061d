//! OpenAPI links: which operations a response's ids lead to (a submitted job to its status,
//! controls, items and results; a created category to reading, replacing and deleting it).
//! Clients and tools that follow links (schemathesis's stateful phase among them) can then
//! chain calls on real resources instead of guessing ids.

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::RefOr;
use utoipa::Modify;

use crate::openapi::operations;

/// Operations that answer a job, and where its `id` leads.
const JOB_ANSWERS: &[(&str, &str)] = &[
    ("submit_job", "202"),
    ("reindex", "202"),
    ("publish_job", "202"),
];
const JOB_LINKS: &[(&str, &str)] = &[
    ("ShowJob", "show_job"),
    ("PauseJob", "pause_job"),
    ("ResumeJob", "resume_job"),
    ("CancelJob", "cancel_job"),
    ("ListItems", "list_items"),
    ("JobResults", "job_results"),
    ("DeleteJob", "delete_job"),
];
const CATEGORY_LINKS: &[(&str, &str)] = &[
    ("ShowCategory", "show_category"),
    ("ReplaceCategory", "replace_category"),
    ("DeleteCategory", "delete_category"),
];

pub(crate) struct Links;

impl Modify for Links {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (operation, status) in JOB_ANSWERS {
            link(doc, operation, status, JOB_LINKS);
        }
        link(doc, "create_category", "201", CATEGORY_LINKS);
    }
}

/// Links the `status` response of `operation` to each of `targets` (name, operation id),
/// passing the response body's `id` as their `id` path parameter.
fn link(
    doc: &mut utoipa::openapi::OpenApi,
    operation: &str,
    status: &str,
    targets: &[(&str, &str)],
) {
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            if op.operation_id.as_deref() != Some(operation) {
                continue;
            }
            let Some(RefOr::T(response)) = op.responses.responses.get_mut(status) else {
                continue;
            };
            for (name, target) in targets {
                let to = LinkBuilder::new()
                    .operation_id(*target)
                    .parameter("id", "$response.body#/id")
                    .build();
                response.links.insert((*name).to_owned(), RefOr::T(to));
            }
        }
    }
}
