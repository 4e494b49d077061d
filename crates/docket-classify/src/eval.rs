//! Measuring `auto`: a deterministic train/test split and the usual scores.

/// FNV-1a 64 of a document's key (e.g. `label/file name`): the same on every machine.
fn stable_hash(key: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for &b in key.as_bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Which of `folds` folds this document falls in (`0..folds`), by a hash of its key.
pub fn fold_of(key: &str, folds: u64) -> u64 {
    stable_hash(key) % folds.max(2)
}

/// Is this document in the test split? About one in `folds` is: those of fold 0.
pub fn is_test(key: &str, folds: u64) -> bool {
    fold_of(key, folds) == 0
}

/// Accuracy and F1 of predictions against the truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub accuracy: f64,
    /// The mean of the per-category F1 scores.
    pub macro_f1: f64,
    /// F1 of each category that occurs in the truth, by name.
    pub f1: std::collections::BTreeMap<String, f64>,
}

/// `pairs` are `(truth, prediction)`; a missing prediction counts as wrong. Macro-F1 averages
/// over the categories that occur in the truth.
pub fn score<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Scores {
    use std::collections::BTreeMap;
    // per category: (true positives, predicted, actual)
    let mut counts: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    let (mut right, mut total) = (0u64, 0u64);
    for (truth, predicted) in pairs {
        total += 1;
        counts.entry(truth).or_default().2 += 1;
        if let Some(p) = predicted {
            counts.entry(p).or_default().1 += 1;
            if p == truth {
                right += 1;
                counts.entry(truth).or_default().0 += 1;
            }
        }
    }
    let f1: BTreeMap<String, f64> = counts
        .iter()
        .filter(|(_, c)| c.2 > 0)
        .map(|(&name, &(tp, predicted, actual))| {
            let f1 = if tp == 0 {
                0.0
            } else {
                let precision = tp as f64 / predicted as f64;
                let recall = tp as f64 / actual as f64;
                2.0 * precision * recall / (precision + recall)
            };
            (name.to_owned(), f1)
        })
        .collect();
    Scores {
        accuracy: if total == 0 {
            0.0
        } else {
            right as f64 / total as f64
        },
        macro_f1: if f1.is_empty() {
            0.0
        } else {
            f1.values().sum::<f64>() / f1.len() as f64
        },
        f1,
    }
}

/// Expected calibration error over ten equal-width confidence bins: how far, on average, the
/// stated confidence is from the accuracy actually reached at that confidence (0 is perfect).
pub fn calibration_error(predictions: &[(f32, bool)]) -> f64 {
    const BINS: usize = 10;
    let mut bins = [(0usize, 0f64, 0usize); BINS]; // (count, sum of confidence, correct)
    for &(confidence, correct) in predictions {
        let c = f64::from(confidence).clamp(0.0, 1.0);
        let i = ((c * BINS as f64) as usize).min(BINS - 1);
        bins[i].0 += 1;
        bins[i].1 += c;
        bins[i].2 += usize::from(correct);
    }
    let n = predictions.len().max(1) as f64;
    bins.iter()
        .filter(|b| b.0 > 0)
        .map(|&(_, sum, correct)| (sum - correct as f64).abs() / n)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_mixed_scores() {
        let s = score([("a", Some("a")), ("b", Some("b"))]);
        assert_eq!((s.accuracy, s.macro_f1), (1.0, 1.0));
        let s = score([("a", Some("a")), ("a", Some("b")), ("b", None)]);
        assert!((s.accuracy - 1.0 / 3.0).abs() < 1e-9);
        // a: p=1, r=0.5 → 2/3; b: 0
        assert!((s.macro_f1 - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn calibration_error_of_honest_and_overconfident_predictions() {
        let honest = [(0.75, true), (0.75, true), (0.75, true), (0.75, false)];
        assert!(calibration_error(&honest) < 1e-9);
        let overconfident = [(1.0, true), (1.0, false)];
        assert!((calibration_error(&overconfident) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn split_is_deterministic() {
        assert_eq!(is_test("3/open.3.txt", 5), is_test("3/open.3.txt", 5));
        let n = (0..1000).filter(|i| is_test(&format!("x/{i}"), 5)).count();
        assert!((150..250).contains(&n), "{n}");
    }
}
