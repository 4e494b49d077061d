//! `fuzzy`: does the pattern approximately occur somewhere in the text?
//!
//! Both pattern and text are normalised as paperless-ngx does (punctuation dropped, lowercased
//! when case-insensitive), and whitespace runs become one space. The similarity is
//! `1 - d / m`, where `m` is the pattern's length in characters and `d` the smallest edit
//! (Levenshtein) distance between the pattern and any stretch of the text. It matches when the
//! similarity is at least [`FUZZY_THRESHOLD`].
//!
//! Work is bounded: Myers' bit-parallel algorithm keeps one 128-bit column per text character,
//! so a text of `n` characters costs `O(n)` word operations whatever the pattern (at most
//! [`MAX_FUZZY_CHARS`] characters), and nothing is allocated per text.

use std::collections::HashMap;

use crate::error::ClassifyError;

/// Smallest similarity that counts as a match (paperless: `partial_ratio ≥ 90`).
pub const FUZZY_THRESHOLD: f32 = 0.9;
/// Longest fuzzy pattern after normalisation: one 128-bit word per column.
pub const MAX_FUZZY_CHARS: usize = 128;

#[derive(Debug)]
pub(crate) struct FuzzyPattern {
    len: usize,
    case_insensitive: bool,
    /// Per character, the bit mask of the pattern positions holding it.
    ascii: [u128; 128],
    other: HashMap<char, u128>,
}

impl FuzzyPattern {
    pub(crate) fn new(pattern: &str, case_insensitive: bool) -> Result<Self, ClassifyError> {
        let normalised: Vec<char> = Normalised::new(pattern.chars(), case_insensitive).collect();
        let trimmed: &[char] = trim_spaces(&normalised);
        if trimmed.iter().all(|&c| c == ' ') {
            return Err(ClassifyError::FuzzyPatternEmpty);
        }
        if trimmed.len() > MAX_FUZZY_CHARS {
            return Err(ClassifyError::FuzzyPatternTooLong {
                len: trimmed.len(),
                max: MAX_FUZZY_CHARS,
            });
        }
        let mut ascii = [0u128; 128];
        let mut other = HashMap::new();
        for (i, &c) in trimmed.iter().enumerate() {
            let bit = 1u128 << i;
            match ascii.get_mut(c as usize) {
                Some(mask) => *mask |= bit,
                None => *other.entry(c).or_insert(0) |= bit,
            }
        }
        Ok(FuzzyPattern {
            len: trimmed.len(),
            case_insensitive,
            ascii,
            other,
        })
    }

    fn mask(&self, c: char) -> u128 {
        match self.ascii.get(c as usize) {
            Some(&mask) => mask,
            None => self.other.get(&c).copied().unwrap_or(0),
        }
    }

    /// The similarity of the best-matching stretch of `text`, if it reaches the threshold.
    pub(crate) fn score(&self, text: &str) -> Option<f32> {
        let similarity = self.similarity(text);
        (similarity >= FUZZY_THRESHOLD).then_some(similarity)
    }

    /// `1 - d / m` for the best stretch of `text` (Myers 1999, semi-global: the match may start
    /// and end anywhere in the text).
    pub(crate) fn similarity(&self, text: &str) -> f32 {
        let m = self.len;
        if m == 0 {
            return 0.0;
        }
        let high = 1u128 << (m - 1);
        let mut pv = u128::MAX;
        let mut mv = 0u128;
        let mut score = m;
        let mut best = m;
        for c in Normalised::new(text.chars(), self.case_insensitive) {
            let eq = self.mask(c);
            let xv = eq | mv;
            let xh = ((eq & pv).wrapping_add(pv) ^ pv) | eq;
            let mut ph = mv | !(xh | pv);
            let mut mh = pv & xh;
            if ph & high != 0 {
                score += 1;
            } else if mh & high != 0 {
                score -= 1;
            }
            ph <<= 1;
            mh <<= 1;
            pv = mh | !(xv | ph);
            mv = ph & xv;
            if score < best {
                best = score;
                if best == 0 {
                    break;
                }
            }
        }
        1.0 - best as f32 / m as f32
    }
}

fn trim_spaces(chars: &[char]) -> &[char] {
    let start = chars.iter().position(|&c| c != ' ').unwrap_or(chars.len());
    let end = chars
        .iter()
        .rposition(|&c| c != ' ')
        .map_or(start, |i| i + 1);
    &chars[start..end]
}

/// The characters of a text with punctuation dropped (kept: letters, digits, `_`, whitespace),
/// whitespace runs as one space, and lowercased if asked.
struct Normalised<I> {
    chars: I,
    case_insensitive: bool,
    pending: Option<std::char::ToLowercase>,
    last_was_space: bool,
}

impl<I: Iterator<Item = char>> Normalised<I> {
    fn new(chars: I, case_insensitive: bool) -> Self {
        Normalised {
            chars,
            case_insensitive,
            pending: None,
            last_was_space: false,
        }
    }
}

impl<I: Iterator<Item = char>> Iterator for Normalised<I> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        if let Some(lower) = self.pending.as_mut() {
            if let Some(c) = lower.next() {
                return Some(c);
            }
            self.pending = None;
        }
        loop {
            let c = self.chars.next()?;
            if c.is_whitespace() {
                if self.last_was_space {
                    continue;
                }
                self.last_was_space = true;
                return Some(' ');
            }
            if !(c.is_alphanumeric() || c == '_') {
                continue;
            }
            self.last_was_space = false;
            if self.case_insensitive && !c.is_lowercase() {
                let mut lower = c.to_lowercase();
                let first = lower.next();
                self.pending = Some(lower);
                if let Some(first) = first {
                    return Some(first);
                }
                continue;
            }
            return Some(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(pattern: &str, text: &str, ci: bool) -> f32 {
        FuzzyPattern::new(pattern, ci).map_or(-1.0, |p| p.similarity(text))
    }

    #[test]
    fn exact_occurrence_is_one() {
        assert_eq!(
            sim(
                "Acme Corporation",
                "Invoice from Acme Corporation, Inc.",
                false
            ),
            1.0
        );
    }

    #[test]
    fn one_typo_in_a_long_pattern_is_close() {
        let s = sim(
            "Stadtwerke Musterstadt",
            "Rechnung der Stadtwerke Musterstatd GmbH",
            false,
        );
        assert!((0.9..1.0).contains(&s), "{s}");
    }

    #[test]
    fn punctuation_and_whitespace_are_ignored() {
        assert_eq!(sim("A.C.M.E. Ltd", "from ACME\n\n   Ltd today", false), 1.0);
    }

    #[test]
    fn non_ascii_and_case() {
        assert_eq!(sim("ÄRZTEKAMMER", "die ärztekammer schreibt", true), 1.0);
        assert!(sim("ÄRZTEKAMMER", "die ärztekammer schreibt", false) < 0.9);
    }

    #[test]
    fn distance_is_exact_for_small_cases() {
        // "kitten" vs best stretch of "sitting": 2 edits ("sittin" → kitten: s→k, i→e)
        let s = sim("kitten", "sitting", false);
        assert!((s - (1.0 - 2.0 / 6.0)).abs() < 1e-6, "{s}");
    }

    #[test]
    fn full_width_pattern_works() {
        let pattern: String = (0..128).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        let mut text = String::from("zz ");
        text.push_str(&pattern[..60]);
        text.push('X');
        text.push_str(&pattern[61..]);
        let s = sim(&pattern, &text, false);
        assert!((s - (1.0 - 1.0 / 128.0)).abs() < 1e-6, "{s}");
    }
}
