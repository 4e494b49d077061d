//! Rules and model together: one document's text in, one category out.

use serde::{Deserialize, Serialize};

use crate::error::ClassifyError;
use crate::linear::argmax;
use crate::matcher::Matcher;
use crate::model::{AutoModel, LabelledText, TrainConfig};
use crate::rule::{validate_name, Algorithm, CategoryRule};

/// The outcome for one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub category: String,
    /// 1.0 for an exact rule match, the similarity for `fuzzy`, the model's probability for
    /// `auto`; always in `[0, 1]`.
    pub confidence: f32,
    /// The algorithm that decided: `"any"`, `"all"`, `"literal"`, `"regex"`, `"fuzzy"` or
    /// `"auto"`.
    pub matched_by: String,
}

#[derive(Debug)]
struct CompiledRule {
    name: String,
    algorithm: Algorithm,
    matcher: Matcher,
}

#[derive(Debug)]
struct AutoStage {
    model: AutoModel,
    /// Per model category: is it (still) an `auto` category?
    allowed: Vec<bool>,
}

/// Classifies texts with a fixed set of rules and, optionally, a trained `auto` model.
///
/// Order: the non-`auto` rules are tried in the order they were given and the first one that
/// matches decides (give them in a stable order, e.g. by name or id). If none matches, the
/// model picks among the categories whose algorithm is `auto`. `None` when neither applies.
#[derive(Debug)]
pub struct Classifier {
    rules: Vec<CompiledRule>,
    auto: Option<AutoStage>,
    min_auto_confidence: f32,
}

impl Classifier {
    /// Validates and compiles the rules. The model may know categories that are gone or no
    /// longer `auto`: they are never answered; with fewer than two `auto` categories left in
    /// it, the model is not used at all.
    pub fn new(rules: &[CategoryRule], model: Option<AutoModel>) -> Result<Self, ClassifyError> {
        let mut compiled = Vec::with_capacity(rules.len());
        let mut seen = std::collections::HashSet::new();
        for rule in rules {
            validate_name(&rule.name)?;
            if !seen.insert(rule.name.as_str()) {
                return Err(ClassifyError::DuplicateName(rule.name.clone()));
            }
            compiled.push(CompiledRule {
                name: rule.name.clone(),
                algorithm: rule.algorithm,
                matcher: Matcher::compile(rule)?,
            });
        }
        let auto = model.and_then(|model| {
            let allowed: Vec<bool> = model
                .categories()
                .iter()
                .map(|c| {
                    rules
                        .iter()
                        .any(|r| r.algorithm == Algorithm::Auto && &r.name == c)
                })
                .collect();
            (allowed.iter().filter(|&&a| a).count() >= 2).then_some(AutoStage { model, allowed })
        });
        Ok(Classifier {
            rules: compiled,
            auto,
            min_auto_confidence: 0.0,
        })
    }

    /// `auto` answers only when its probability is at least this (default 0: always).
    pub fn with_min_auto_confidence(mut self, min: f32) -> Self {
        self.min_auto_confidence = min.clamp(0.0, 1.0);
        self
    }

    /// Is a model in use?
    pub fn has_auto(&self) -> bool {
        self.auto.is_some()
    }

    pub fn classify(&self, text: &str) -> Option<Classification> {
        for rule in &self.rules {
            if let Some(confidence) = rule.matcher.score(text) {
                return Some(Classification {
                    category: rule.name.clone(),
                    confidence: confidence.clamp(0.0, 1.0),
                    matched_by: rule.algorithm.as_str().to_owned(),
                });
            }
        }
        let stage = self.auto.as_ref()?;
        let mut p = stage.model.probabilities(text);
        for (v, &allowed) in p.iter_mut().zip(&stage.allowed) {
            if !allowed {
                *v = f32::NEG_INFINITY;
            }
        }
        let best = argmax(&p)?;
        let confidence = p.get(best).copied()?;
        if !(confidence.is_finite() && confidence >= self.min_auto_confidence) {
            return None;
        }
        Some(Classification {
            category: stage.model.categories().get(best)?.clone(),
            confidence: confidence.clamp(0.0, 1.0),
            matched_by: Algorithm::Auto.as_str().to_owned(),
        })
    }
}

/// Trains the `auto` model for a set of rules: only documents labelled with a category whose
/// algorithm is `auto` are used. `None` when fewer than two such categories have documents.
pub fn train_auto<'a>(
    rules: &[CategoryRule],
    docs: impl IntoIterator<Item = LabelledText<'a>>,
    config: &TrainConfig,
) -> Option<AutoModel> {
    let auto: std::collections::HashSet<&str> = rules
        .iter()
        .filter(|r| r.algorithm == Algorithm::Auto)
        .map(|r| r.name.as_str())
        .collect();
    let docs: Vec<LabelledText<'a>> = docs
        .into_iter()
        .filter(|d| auto.contains(d.category))
        .collect();
    AutoModel::train(&docs, config)
}
