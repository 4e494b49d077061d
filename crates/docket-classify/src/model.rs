//! The `auto` model: a linear classifier over tf-idf weighted, hashed word features.
//!
//! Training and prediction share one representation: a document is the vector of its words'
//! `(1 + ln tf) · idf`, scaled to unit length, restricted to the features the model kept. Scores
//! are `bias + x · W` per category and the confidence is the softmax of the scores divided by a
//! temperature fitted on held-out training documents, so it is a probability in `[0, 1]` that
//! roughly matches the accuracy reached. Two trainers fill `W`: multinomial logistic regression (the default, chosen by
//! measured accuracy, see BENCHMARKS.md) and multinomial naive Bayes (kept for comparison).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::ClassifyError;
use crate::features::term_counts;
use crate::linear::{argmax, linear_scores, softmax, vectorise};
use crate::train::{fit_temperature, select_features, train_logistic, train_naive_bayes};

/// Bumped whenever stored models stop meaning the same thing; older ones are refused.
pub const MODEL_VERSION: u32 = 1;

/// One document labelled by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelledText<'a> {
    pub text: &'a str,
    pub category: &'a str,
}

/// Which trainer fills the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Multinomial logistic regression trained by SGD (default).
    Logistic,
    /// Multinomial naive Bayes on the same tf-idf features.
    NaiveBayes,
}

/// Training knobs; the defaults are what was measured in BENCHMARKS.md.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub kind: ModelKind,
    /// Also use pairs of adjacent words.
    pub bigrams: bool,
    /// Keep only features seen in at least this many training documents.
    pub min_df: u32,
    /// Keep at most this many features (the most frequent ones), bounding the model's size.
    pub max_features: usize,
    /// Passes over the training documents (logistic regression).
    pub epochs: u32,
    /// First SGD step; pass `e` uses `learning_rate / (1 + e)` (logistic regression).
    pub learning_rate: f32,
    /// L2 regularisation strength (logistic regression).
    pub l2: f32,
    /// Weigh categories inversely to their size, so small ones are not drowned out.
    pub balanced: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            kind: ModelKind::Logistic,
            bigrams: false,
            min_df: 2,
            max_features: 50_000,
            epochs: 20,
            learning_rate: 1.0,
            l2: 1e-4,
            balanced: true,
        }
    }
}

/// A trained `auto` classifier. Serialisable, so it can be stored once and loaded by every
/// process; deserialising checks it is consistent, so a damaged one is an error, not a panic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredModel")]
pub struct AutoModel {
    version: u32,
    kind: ModelKind,
    bigrams: bool,
    categories: Vec<String>,
    /// Hashed feature ids, strictly increasing.
    features: Vec<u32>,
    idf: Vec<f32>,
    /// `features.len() × categories.len()`, one row per feature.
    weights: Vec<f32>,
    bias: Vec<f32>,
    /// Scores are divided by this before the softmax (fitted on held-out training documents).
    temperature: f32,
    documents: usize,
}

/// The same fields, as they come out of storage, before they are checked.
#[derive(Deserialize)]
struct StoredModel {
    version: u32,
    kind: ModelKind,
    bigrams: bool,
    categories: Vec<String>,
    features: Vec<u32>,
    idf: Vec<f32>,
    weights: Vec<f32>,
    bias: Vec<f32>,
    /// Scores are divided by this before the softmax (fitted on held-out training documents).
    temperature: f32,
    documents: usize,
}

impl TryFrom<StoredModel> for AutoModel {
    type Error = ClassifyError;

    fn try_from(m: StoredModel) -> Result<Self, ClassifyError> {
        let bad = |why: &str| Err(ClassifyError::InvalidModel(why.to_owned()));
        if m.version != MODEL_VERSION {
            return Err(ClassifyError::InvalidModel(format!(
                "version {} (this build reads version {MODEL_VERSION}); retrain it",
                m.version
            )));
        }
        let k = m.categories.len();
        if k < 2 {
            return bad("fewer than two categories");
        }
        let mut names: Vec<&String> = m.categories.iter().collect();
        names.sort();
        names.dedup();
        if names.len() != k {
            return bad("a category appears twice");
        }
        if !m.features.windows(2).all(|w| w[0] < w[1]) {
            return bad("features are not sorted");
        }
        if m.idf.len() != m.features.len()
            || Some(m.weights.len()) != m.features.len().checked_mul(k)
            || m.bias.len() != k
        {
            return bad("array lengths do not agree");
        }
        if !m
            .idf
            .iter()
            .chain(&m.weights)
            .chain(&m.bias)
            .all(|v| v.is_finite())
        {
            return bad("a weight is not a finite number");
        }
        if !(m.temperature.is_finite() && m.temperature > 0.0) {
            return bad("the temperature is not a positive number");
        }
        Ok(AutoModel {
            version: m.version,
            kind: m.kind,
            bigrams: m.bigrams,
            categories: m.categories,
            features: m.features,
            idf: m.idf,
            weights: m.weights,
            bias: m.bias,
            temperature: m.temperature,
            documents: m.documents,
        })
    }
}

impl AutoModel {
    /// Trains on labelled documents. `None` when fewer than two categories have documents
    /// (there is nothing to tell apart). Categories are kept in name order, so the same
    /// documents always give the same model.
    pub fn train(docs: &[LabelledText<'_>], config: &TrainConfig) -> Option<AutoModel> {
        let categories: Vec<String> = docs
            .iter()
            .map(|d| d.category)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(str::to_owned)
            .collect();
        if categories.len() < 2 {
            return None;
        }
        let index: HashMap<&str, usize> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        let counts: Vec<Vec<(u32, u32)>> = docs
            .iter()
            .map(|d| term_counts(d.text, config.bigrams))
            .collect();
        let labels: Vec<usize> = docs
            .iter()
            .map(|d| index.get(d.category).copied().unwrap_or(0))
            .collect();

        let (features, idf) = select_features(&counts, config);
        let vectors: Vec<Vec<(usize, f32)>> = counts
            .iter()
            .map(|c| vectorise(c, &features, &idf))
            .collect();
        let k = categories.len();
        let fit = |vectors: &[Vec<(usize, f32)>], labels: &[usize]| match config.kind {
            ModelKind::Logistic => train_logistic(vectors, labels, k, features.len(), config),
            ModelKind::NaiveBayes => train_naive_bayes(vectors, labels, k, features.len()),
        };
        let temperature = fit_temperature(&vectors, &labels, k, fit);
        let (weights, bias) = fit(&vectors, &labels);
        Some(AutoModel {
            version: MODEL_VERSION,
            kind: config.kind,
            bigrams: config.bigrams,
            categories,
            features,
            idf,
            weights,
            bias,
            temperature,
            documents: docs.len(),
        })
    }

    /// The categories this model tells apart, in the order of [`AutoModel::probabilities`].
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// How many labelled documents it was trained on.
    pub fn documents(&self) -> usize {
        self.documents
    }

    /// How many features it kept.
    pub fn feature_count(&self) -> usize {
        self.features.len()
    }

    /// The probability of each category for `text` (they sum to 1).
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        let k = self.categories.len();
        let x = vectorise(&term_counts(text, self.bigrams), &self.features, &self.idf);
        let mut scores = linear_scores(&x, &self.weights, &self.bias, k);
        for s in &mut scores {
            *s /= self.temperature;
        }
        softmax(&mut scores);
        scores
    }

    /// The most likely category and its probability.
    pub fn predict(&self, text: &str) -> Option<(&str, f32)> {
        let p = self.probabilities(text);
        argmax(&p).and_then(|i| Some((self.categories.get(i)?.as_str(), p[i])))
    }
}
