//! The one error type of this crate.

use crate::rule::Algorithm;

/// Everything that can go wrong when defining categories, training or loading a model.
///
/// Each message is written for the person who made the rule: it says what is wrong and what
/// the limit is, and never carries internal details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassifyError {
    #[error("the category name must not be empty")]
    EmptyName,
    #[error("the category name is too long ({len} characters, at most {max})")]
    NameTooLong { len: usize, max: usize },
    #[error("the category name must not contain control characters")]
    NameHasControlChars,
    #[error("the category name {0:?} is used by more than one category")]
    DuplicateName(String),
    #[error("the `{0}` algorithm needs a pattern")]
    MissingPattern(Algorithm),
    #[error("the pattern is too long ({len} characters, at most {max})")]
    PatternTooLong { len: usize, max: usize },
    #[error("the pattern has too many words ({count}, at most {max})")]
    TooManyTerms { count: usize, max: usize },
    #[error("the fuzzy pattern is too long ({len} letters, digits and spaces, at most {max})")]
    FuzzyPatternTooLong { len: usize, max: usize },
    #[error("the fuzzy pattern has no letters or digits")]
    FuzzyPatternEmpty,
    #[error("the regular expression is invalid: {0}")]
    InvalidRegex(String),
    #[error("the stored classification model is invalid: {0}")]
    InvalidModel(String),
}
