//! Category rules as users define them, and their validation.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ClassifyError;
use crate::matcher::Matcher;

/// Longest category name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest pattern, in characters.
pub const MAX_PATTERN_CHARS: usize = 1000;
/// Most words (or quoted phrases) in an `any` or `all` pattern.
pub const MAX_TERMS: usize = 100;

/// How a category's pattern is matched against a document's text (paperless-ngx semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Any of the whitespace-separated words (a double-quoted phrase counts as one) occurs as a
    /// whole word.
    Any,
    /// All of the words occur as whole words, in any order.
    All,
    /// The pattern occurs as it is, as whole words.
    Literal,
    /// The regular expression (Rust `regex` syntax) matches somewhere in the text.
    Regex,
    /// The pattern approximately occurs: similarity ≥ 0.9 against the best-matching stretch of
    /// the text, punctuation ignored.
    Fuzzy,
    /// Learned from documents labelled by hand; the pattern is not used.
    Auto,
}

impl Algorithm {
    /// The lowercase name, as in the API and in `Classification::matched_by`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Any => "any",
            Algorithm::All => "all",
            Algorithm::Literal => "literal",
            Algorithm::Regex => "regex",
            Algorithm::Fuzzy => "fuzzy",
            Algorithm::Auto => "auto",
        }
    }
}

impl std::str::FromStr for Algorithm {
    type Err = ();
    fn from_str(s: &str) -> Result<Algorithm, ()> {
        [
            Algorithm::Any,
            Algorithm::All,
            Algorithm::Literal,
            Algorithm::Regex,
            Algorithm::Fuzzy,
            Algorithm::Auto,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
        .ok_or(())
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One user-defined category and how documents are matched to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryRule {
    pub name: String,
    pub algorithm: Algorithm,
    /// Words, phrase, regular expression or fuzzy string; unused (may be empty) for `auto`.
    #[serde(default)]
    pub pattern: String,
    #[serde(default)]
    pub case_insensitive: bool,
}

impl CategoryRule {
    pub fn new(
        name: impl Into<String>,
        algorithm: Algorithm,
        pattern: impl Into<String>,
        case_insensitive: bool,
    ) -> Self {
        CategoryRule {
            name: name.into(),
            algorithm,
            pattern: pattern.into(),
            case_insensitive,
        }
    }
}

/// Checks a rule the way it is checked when it is created: name non-empty, at most
/// [`MAX_NAME_CHARS`] characters and without control characters; a pattern for every algorithm
/// but `auto`, at most [`MAX_PATTERN_CHARS`] characters ([`MAX_TERMS`] words for `any`/`all`);
/// a regular expression that compiles within the size limit; a fuzzy pattern of at most
/// [`crate::MAX_FUZZY_CHARS`] letters, digits and spaces.
pub fn validate_rule(rule: &CategoryRule) -> Result<(), ClassifyError> {
    validate_name(&rule.name)?;
    Matcher::compile(rule).map(|_| ())
}

pub(crate) fn validate_name(name: &str) -> Result<(), ClassifyError> {
    if name.trim().is_empty() {
        return Err(ClassifyError::EmptyName);
    }
    let len = name.chars().count();
    if len > MAX_NAME_CHARS {
        return Err(ClassifyError::NameTooLong {
            len,
            max: MAX_NAME_CHARS,
        });
    }
    if name.chars().any(char::is_control) {
        return Err(ClassifyError::NameHasControlChars);
    }
    Ok(())
}
