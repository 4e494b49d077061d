//! Classification as a service of the pipeline: each user's rules and learned model, cached
//! briefly per process, and `train_due`, the round of the `trainer` service.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docket_classify::{
    train_auto, Algorithm, AutoModel, CategoryRule, Classification, Classifier, LabelledText,
    TrainConfig,
};
use docket_store::prelude::*;
use docket_store::{Category, StoreError};

/// How long a process uses a user's classifier before looking again: a category edited in
/// another process takes effect within this.
const FRESH_FOR: Duration = Duration::from_secs(2);
/// Hand labels a model learns from, newest first.
const MAX_TRAINING_DOCUMENTS: usize = 5_000;

/// The rule of a stored category, for `docket-classify`.
pub fn rule_of(category: &Category) -> Option<CategoryRule> {
    let algorithm: Algorithm = category.algorithm.parse().ok()?;
    Some(CategoryRule::new(
        category.name.clone(),
        algorithm,
        category.pattern.clone(),
        category.case_insensitive,
    ))
}

/// A user's classifier and when it was built.
type Built = (Instant, Arc<Classifier>);

/// Each user's classifier, built from their categories and stored model.
#[derive(Clone)]
pub struct Classifiers {
    store: Arc<dyn Store>,
    cache: Arc<Mutex<HashMap<String, Built>>>,
}

impl Classifiers {
    pub fn new(store: Arc<dyn Store>) -> Classifiers {
        Classifiers {
            store,
            cache: Arc::default(),
        }
    }

    pub async fn for_user(&self, user: &str) -> Result<Arc<Classifier>, StoreError> {
        if let Ok(cache) = self.cache.lock() {
            if let Some((at, classifier)) = cache.get(user) {
                if at.elapsed() < FRESH_FOR {
                    return Ok(classifier.clone());
                }
            }
        }
        let rules: Vec<CategoryRule> = self
            .store
            .list_categories(user)
            .await?
            .iter()
            .filter_map(rule_of)
            .collect();
        let model = self
            .store
            .load_model(user)
            .await?
            .and_then(|m| m.model)
            .and_then(|json| serde_json::from_str::<AutoModel>(&json).ok());
        // Rules were validated when stored; one that no longer compiles (a newer regex
        // engine, say) is dropped rather than stopping all classification.
        let classifier = match Classifier::new(&rules, model.clone()) {
            Ok(c) => c,
            Err(_) => {
                let valid: Vec<CategoryRule> = rules
                    .into_iter()
                    .filter(|r| Classifier::new(std::slice::from_ref(r), None).is_ok())
                    .collect();
                Classifier::new(&valid, model).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
        };
        let classifier = Arc::new(classifier);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(user.to_owned(), (Instant::now(), classifier.clone()));
        }
        Ok(classifier)
    }

    /// Classifies `text` for `user`; CPU work, so off the async threads. The text comes back
    /// with the answer, so a caller that still needs it does not copy a whole document.
    pub async fn classify(
        &self,
        user: &str,
        text: String,
    ) -> Result<(Option<Classification>, String), StoreError> {
        let classifier = self.for_user(user).await?;
        tokio::task::spawn_blocking(move || (classifier.classify(&text), text))
            .await
            .map_err(|e| StoreError::Corrupt(format!("classification crashed: {e}")))
    }
}

/// Retrains every stale model once. Returns how many were trained.
pub async fn train_due(store: &Arc<dyn Store>) -> Result<usize, StoreError> {
    let due = store.training_due().await?;
    for (user, version) in &due {
        let rules: Vec<CategoryRule> = store
            .list_categories(user)
            .await?
            .iter()
            .filter_map(rule_of)
            .collect();
        let labelled = store.labelled_texts(user, MAX_TRAINING_DOCUMENTS).await?;
        let started = Instant::now();
        let model = tokio::task::spawn_blocking(move || {
            let docs = labelled
                .iter()
                .map(|(text, category)| LabelledText { text, category });
            train_auto(&rules, docs, &TrainConfig::default())
                .and_then(|m| serde_json::to_string(&m).ok())
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("training crashed: {e}")))?;
        tracing::info!(
            user = %user,
            version,
            trained = model.is_some(),
            took_ms = started.elapsed().as_millis() as u64,
            "auto classifier retrained"
        );
        store
            .save_model(user, *version, model, docket_core::now_millis())
            .await?;
    }
    Ok(due.len())
}
