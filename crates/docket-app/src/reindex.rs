use std::sync::Arc;

use docket_core::{now_millis, JobKind, JobOptions, JobSource};
use docket_store::{Created, NewJob, Store};

use crate::ServiceError;

/// A `reindex` job over every stored document of `user`, listed by the job itself.
pub async fn reindex(store: &Arc<dyn Store>, user: &str) -> Result<Created, ServiceError> {
    let new = NewJob {
        id: None,
        user: user.to_owned(),
        kind: JobKind::Reindex,
        options: JobOptions::default(),
        idempotency_key: None,
        items: Vec::new(),
        source: Some(JobSource::Documents {
            documents_of: user.to_owned(),
        }),
    };
    Ok(store.create_job(new, now_millis()).await?)
}
