use std::sync::Arc;

use docket_core::{now_millis, ErrorCode, Job, JobKind, JobOptions, JobSource, PublishMode};
use docket_publish::Targets;
use docket_store::{Created, NewJob, Store};

use crate::ServiceError;

/// What a caller asks to publish: a configured target's name, and optionally a mode other than
/// the target's own.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    pub target: String,
    #[serde(default)]
    pub mode: Option<PublishMode>,
}

/// A `publish` job over the succeeded documents of `job` (the caller's own, checked by the
/// caller of this function), listed by the job itself.
pub async fn publish(
    store: &Arc<dyn Store>,
    targets: &Targets,
    job: &Job,
    request: PublishRequest,
) -> Result<Created, ServiceError> {
    let Some(target) = targets.get(&request.target) else {
        let known: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        let detail = if known.is_empty() {
            format!(
                "no publish target `{}`: this server has none configured",
                request.target
            )
        } else {
            format!(
                "no publish target `{}`; configured: {}",
                request.target,
                known.join(", ")
            )
        };
        return Err(ServiceError::refused(ErrorCode::UnknownTarget, detail));
    };
    if job.kind != JobKind::Process {
        return Err(ServiceError::refused(
            ErrorCode::NothingToPublish,
            format!(
                "only `process` jobs have documents to publish; {} is a `{}` job",
                job.id, job.kind
            ),
        ));
    }
    if store.results(&job.id, 0, 1).await?.is_empty() {
        return Err(ServiceError::refused(
            ErrorCode::NothingToPublish,
            format!("the job {} has no succeeded documents (yet)", job.id),
        ));
    }
    let mode = request.mode.unwrap_or(target.mode);
    let new = NewJob {
        id: None,
        user: job.user.clone(),
        kind: JobKind::Publish,
        options: JobOptions {
            // No more items in flight than the target takes uploads at once.
            max_workers: Some(target.concurrency as u32),
            ..JobOptions::default()
        },
        idempotency_key: None,
        items: Vec::new(),
        source: Some(JobSource::Publish {
            job_id: job.id.clone(),
            target: target.name.clone(),
            mode,
        }),
    };
    Ok(store.create_job(new, now_millis()).await?)
}
