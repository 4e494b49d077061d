//! Document classification for Docket: paperless-ngx-style matching rules (`any`, `all`,
//! `literal`, `regex`, `fuzzy`) and `auto`, a classifier learned from documents labelled by
//! hand. Pure logic: no I/O, no async.
//!
//! ```
//! use docket_classify::{Algorithm, CategoryRule, Classifier};
//!
//! let rules = [CategoryRule::new("invoices", Algorithm::Any, r#"invoice "amount due""#, true)];
//! let classifier = Classifier::new(&rules, None)?;
//! let c = classifier.classify("Amount  due: 42 EUR").expect("matches");
//! assert_eq!((c.category.as_str(), c.confidence, c.matched_by.as_str()), ("invoices", 1.0, "any"));
//! # Ok::<(), docket_classify::ClassifyError>(())
//! ```

mod classifier;
mod error;
pub mod eval;
mod features;
mod fuzzy;
mod linear;
mod matcher;
mod model;
mod rule;
mod terms;
mod train;

pub use classifier::{train_auto, Classification, Classifier};
pub use error::ClassifyError;
pub use features::MAX_TOKENS;
pub use fuzzy::{FUZZY_THRESHOLD, MAX_FUZZY_CHARS};
pub use matcher::{REGEX_DFA_SIZE_LIMIT, REGEX_SIZE_LIMIT};
pub use model::{AutoModel, LabelledText, ModelKind, TrainConfig, MODEL_VERSION};
pub use rule::{
    validate_rule, Algorithm, CategoryRule, MAX_NAME_CHARS, MAX_PATTERN_CHARS, MAX_TERMS,
};
