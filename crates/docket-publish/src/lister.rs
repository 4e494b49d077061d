//! Lists a `publish` job's items from the job it publishes: one per distinct document
//! (`objects`), or the one set (`ami_set`).

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use docket_core::{ItemPayload, JobSource, PublishMode};
use docket_engine::{HandlerError, Lister};
use docket_store::prelude::*;
use docket_store::NewItem;
use tokio::sync::mpsc;

use crate::handler::store_error;

const PAGE: usize = 500;

pub struct PublishLister {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl Lister for PublishLister {
    async fn list(
        &self,
        source: &JobSource,
        skip: u64,
        sink: mpsc::Sender<Vec<NewItem>>,
    ) -> Result<(), HandlerError> {
        let (job_id, target, mode) = match source {
            JobSource::Publish {
                job_id,
                target,
                mode,
            } => (job_id, target, *mode),
            JobSource::Unreadable(why) => return Err(HandlerError::Permanent(why.clone())),
            other => {
                return Err(HandlerError::Permanent(format!(
                    "a publish lists a job's documents, but the job's source is {}",
                    other.describe()
                )))
            }
        };
        if mode == PublishMode::AmiSet {
            if skip == 0 {
                let set = NewItem {
                    name: format!("AMI set of {job_id}"),
                    payload: ItemPayload::PublishSet {
                        target: target.clone(),
                        source_job: job_id.clone(),
                    },
                };
                if sink.send(vec![set]).await.is_err() {
                    return Err(HandlerError::Interrupted);
                }
            }
            return Ok(());
        }
        // One object per content: a file submitted twice is one object, published once (two
        // items racing for one object would leave an orphaned upload behind).
        let mut seen_content: HashSet<String> = HashSet::new();
        let mut listed: u64 = 0;
        let mut after = 0i64;
        loop {
            let rows = self
                .store
                .results(job_id, after, PAGE)
                .await
                .map_err(|e| store_error("listing the job's documents", e))?;
            let Some(last) = rows.last().map(|r| r.item_id) else {
                return Ok(());
            };
            let mut batch = Vec::new();
            for row in rows {
                let text = |k: &str| {
                    row.output
                        .get(k)
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                };
                let (Some(document_id), Some(sha256)) = (text("document_id"), text("sha256"))
                else {
                    continue;
                };
                if !seen_content.insert(sha256) {
                    continue;
                }
                listed += 1;
                if listed > skip {
                    batch.push(NewItem {
                        name: row.name,
                        payload: ItemPayload::PublishDocument {
                            target: target.clone(),
                            document_id,
                        },
                    });
                }
            }
            if !batch.is_empty() && sink.send(batch).await.is_err() {
                return Err(HandlerError::Interrupted);
            }
            after = last;
        }
    }
}
