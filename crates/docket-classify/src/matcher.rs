//! A rule compiled once, matched against many texts.

use regex::{Regex, RegexBuilder};

use crate::error::ClassifyError;
use crate::fuzzy::FuzzyPattern;
use crate::rule::{Algorithm, CategoryRule, MAX_PATTERN_CHARS, MAX_TERMS};
use crate::terms::split_terms;

/// Compiled-program size limit for one rule's regular expression (bytes).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Lazy-DFA cache limit for one rule's regular expression (bytes).
pub const REGEX_DFA_SIZE_LIMIT: usize = 2 << 20;

#[derive(Debug)]
pub(crate) enum Matcher {
    Any(Regex),
    All(Vec<Regex>),
    Literal(Regex),
    Regex(Regex),
    Fuzzy(Box<FuzzyPattern>),
    Auto,
}

impl Matcher {
    /// Compiles the rule's pattern, checking its limits.
    pub(crate) fn compile(rule: &CategoryRule) -> Result<Self, ClassifyError> {
        if rule.algorithm == Algorithm::Auto {
            return Ok(Matcher::Auto);
        }
        if rule.pattern.trim().is_empty() {
            return Err(ClassifyError::MissingPattern(rule.algorithm));
        }
        let len = rule.pattern.chars().count();
        if len > MAX_PATTERN_CHARS {
            return Err(ClassifyError::PatternTooLong {
                len,
                max: MAX_PATTERN_CHARS,
            });
        }
        let ci = rule.case_insensitive;
        Ok(match rule.algorithm {
            Algorithm::Any => {
                let terms = terms(&rule.pattern, rule.algorithm)?;
                let alternatives: Vec<String> = terms.iter().map(|t| term_body(t)).collect();
                Matcher::Any(build(&whole_words(&alternatives.join("|")), ci)?)
            }
            Algorithm::All => {
                let regexes = terms(&rule.pattern, rule.algorithm)?
                    .iter()
                    .map(|t| build(&whole_words(&term_body(t)), ci))
                    .collect::<Result<_, _>>()?;
                Matcher::All(regexes)
            }
            Algorithm::Literal => {
                Matcher::Literal(build(&whole_words(&regex::escape(&rule.pattern)), ci)?)
            }
            Algorithm::Regex => Matcher::Regex(build(&rule.pattern, ci)?),
            Algorithm::Fuzzy => Matcher::Fuzzy(Box::new(FuzzyPattern::new(&rule.pattern, ci)?)),
            Algorithm::Auto => Matcher::Auto,
        })
    }

    /// The confidence with which `text` matches: 1.0 for the exact algorithms, the similarity
    /// for `fuzzy`; `None` when it does not match (always for `auto`).
    pub(crate) fn score(&self, text: &str) -> Option<f32> {
        match self {
            Matcher::Any(re) | Matcher::Literal(re) | Matcher::Regex(re) => {
                re.is_match(text).then_some(1.0)
            }
            Matcher::All(res) => res.iter().all(|re| re.is_match(text)).then_some(1.0),
            Matcher::Fuzzy(pattern) => pattern.score(text),
            Matcher::Auto => None,
        }
    }
}

fn terms(pattern: &str, algorithm: Algorithm) -> Result<Vec<String>, ClassifyError> {
    let terms = split_terms(pattern);
    if terms.is_empty() {
        return Err(ClassifyError::MissingPattern(algorithm));
    }
    if terms.len() > MAX_TERMS {
        return Err(ClassifyError::TooManyTerms {
            count: terms.len(),
            max: MAX_TERMS,
        });
    }
    Ok(terms)
}

/// A term as a regex body: escaped, with its inner spaces matching any run of whitespace (a
/// phrase still matches across a line break).
fn term_body(term: &str) -> String {
    term.split(' ')
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(r"\s+")
}

/// "As a whole word": not glued to a word character on either side. Unlike paperless' `\b…\b`,
/// this also works for terms that begin or end with punctuation (`C++`, `#42`).
fn whole_words(body: &str) -> String {
    format!(r"\b{{start-half}}(?:{body})\b{{end-half}}")
}

fn build(pattern: &str, case_insensitive: bool) -> Result<Regex, ClassifyError> {
    RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| ClassifyError::InvalidRegex(e.to_string()))
}
