//! The `reindex` job: every stored document of a user, classified again with the current
//! rules and model (hand labels are kept). The search index itself needs no rebuilding: the
//! database keeps it in the same transaction as the document (FTS5 triggers, a generated
//! tsvector), so a reindex item checks the document is readable and refreshes its category.

use std::sync::Arc;

use async_trait::async_trait;
use docket_core::{ItemPayload, JobSource, Stage};
use docket_engine::{Handler, HandlerError, ItemContext, Lister};
use docket_store::prelude::*;
use docket_store::NewItem;
use serde_json::json;
use tokio::sync::mpsc;

use crate::classification::Classifiers;
use crate::process::store_error;

/// Lists a user's documents ([`JobSource::Documents`]) in id order.
pub struct DocumentLister {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl Lister for DocumentLister {
    async fn list(
        &self,
        source: &JobSource,
        skip: u64,
        sink: mpsc::Sender<Vec<NewItem>>,
    ) -> Result<(), HandlerError> {
        let user = match source {
            JobSource::Documents { documents_of } => documents_of.as_str(),
            JobSource::Unreadable(why) => return Err(HandlerError::Permanent(why.clone())),
            other => {
                return Err(HandlerError::Permanent(format!(
                    "a reindex lists a user's documents, but the job's source is {}",
                    other.describe()
                )))
            }
        };
        let mut after: Option<String> = None;
        let mut seen: u64 = 0;
        loop {
            let ids = self
                .store
                .document_ids(user, after.as_deref(), 1000)
                .await
                .map_err(|e| store_error("listing documents", e))?;
            let Some(last) = ids.last().cloned() else {
                return Ok(());
            };
            let mut batch = Vec::with_capacity(ids.len());
            for id in ids {
                seen += 1;
                if seen > skip {
                    batch.push(NewItem {
                        name: id.clone(),
                        payload: ItemPayload::Document {
                            document_id: id.clone(),
                        },
                    });
                }
            }
            if !batch.is_empty() && sink.send(batch).await.is_err() {
                return Err(HandlerError::Interrupted);
            }
            after = Some(last);
        }
    }
}

pub struct ReindexHandler {
    pub store: Arc<dyn Store>,
    pub classifiers: Classifiers,
}

#[async_trait]
impl Handler for ReindexHandler {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        let item = ctx.item();
        let id = match &item.payload {
            ItemPayload::Document { document_id } => document_id.as_str(),
            ItemPayload::Unreadable(why) => return Err(HandlerError::Permanent(why.clone())),
            other => {
                return Err(HandlerError::Permanent(format!(
                    "a reindex item must name a document, but this one carries {}",
                    other.describe()
                )))
            }
        };
        ctx.enter_stage(Stage::Loading)?;
        let document = self
            .store
            .get_document(id)
            .await
            .map_err(|e| store_error("reading the document", e))?
            .filter(|d| d.user == item.user)
            .ok_or_else(|| HandlerError::Permanent("the document is gone".into()))?;
        ctx.enter_stage(Stage::Classifying)?;
        let (decided, _) = self
            .classifiers
            .classify(&item.user, document.text)
            .await
            .map_err(|e| store_error("classifying", e))?;
        ctx.enter_stage(Stage::Indexing)?;
        let (category, confidence) = match &decided {
            Some(c) => (Some(c.category.as_str()), Some(f64::from(c.confidence))),
            None => (None, None),
        };
        self.store
            .classify_document(id, category, confidence)
            .await
            .map_err(|e| store_error("storing the category", e))?;
        Ok(json!({
            "document_id": id,
            "category": category,
            "confidence": confidence,
            "matched_by": decided.map(|c| c.matched_by),
        }))
    }
}
