//! Filling the weights of an `auto` model: feature selection, the two trainers, and the
//! temperature that turns scores into honest probabilities.

use std::collections::BTreeMap;

use crate::linear::{linear_scores, softmax};
use crate::model::TrainConfig;

/// Features seen in at least `min_df` documents, the `max_features` most common of them, with
/// smoothed idf `ln((1 + n) / (1 + df)) + 1`.
pub(crate) fn select_features(
    counts: &[Vec<(u32, u32)>],
    config: &TrainConfig,
) -> (Vec<u32>, Vec<f32>) {
    let mut df: BTreeMap<u32, u32> = BTreeMap::new();
    for doc in counts {
        for &(id, _) in doc {
            *df.entry(id).or_insert(0) += 1;
        }
    }
    let mut kept: Vec<(u32, u32)> = df
        .into_iter()
        .filter(|&(_, n)| n >= config.min_df.max(1))
        .collect();
    if kept.len() > config.max_features {
        kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        kept.truncate(config.max_features);
        kept.sort_unstable_by_key(|&(id, _)| id);
    }
    let n = counts.len() as f32;
    let idf = kept
        .iter()
        .map(|&(_, d)| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
        .collect();
    (kept.into_iter().map(|(id, _)| id).collect(), idf)
}

fn class_weights(labels: &[usize], k: usize, balanced: bool) -> Vec<f32> {
    let mut sizes = vec![0usize; k];
    for &l in labels {
        if let Some(s) = sizes.get_mut(l) {
            *s += 1;
        }
    }
    sizes
        .iter()
        .map(|&s| {
            if balanced && s > 0 {
                labels.len() as f32 / (k * s) as f32
            } else {
                1.0
            }
        })
        .collect()
}

/// Softmax cross-entropy by SGD: shuffled passes (a fixed seed, so training is reproducible),
/// step `learning_rate / (1 + epoch)`, L2 applied to the weights each step touches.
pub(crate) fn train_logistic(
    vectors: &[Vec<(usize, f32)>],
    labels: &[usize],
    k: usize,
    n_features: usize,
    config: &TrainConfig,
) -> (Vec<f32>, Vec<f32>) {
    let mut weights = vec![0f32; n_features * k];
    let mut bias = vec![0f32; k];
    let class_weight = class_weights(labels, k, config.balanced);
    let mut order: Vec<usize> = (0..vectors.len()).collect();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut scores = vec![0f32; k];
    for epoch in 0..config.epochs {
        rng.shuffle(&mut order);
        let lr = config.learning_rate / (1.0 + epoch as f32);
        for &d in &order {
            let (Some(x), Some(&y)) = (vectors.get(d), labels.get(d)) else {
                continue;
            };
            scores.copy_from_slice(&bias);
            for &(f, v) in x {
                for (s, w) in scores.iter_mut().zip(&weights[f * k..(f + 1) * k]) {
                    *s += v * w;
                }
            }
            softmax(&mut scores);
            let cw = class_weight.get(y).copied().unwrap_or(1.0);
            for (c, s) in scores.iter_mut().enumerate() {
                *s = cw * (*s - if c == y { 1.0 } else { 0.0 });
            }
            for (b, g) in bias.iter_mut().zip(&scores) {
                *b -= lr * g;
            }
            for &(f, v) in x {
                for (w, g) in weights[f * k..(f + 1) * k].iter_mut().zip(&scores) {
                    *w -= lr * (g * v + config.l2 * *w);
                }
            }
        }
    }
    (weights, bias)
}

/// Multinomial naive Bayes on the tf-idf vectors, Laplace-smoothed (α = 0.1).
pub(crate) fn train_naive_bayes(
    vectors: &[Vec<(usize, f32)>],
    labels: &[usize],
    k: usize,
    n_features: usize,
) -> (Vec<f32>, Vec<f32>) {
    const ALPHA: f32 = 0.1;
    let mut mass = vec![0f32; n_features * k];
    let mut totals = vec![0f32; k];
    let mut docs = vec![0f32; k];
    for (x, &y) in vectors.iter().zip(labels) {
        if y >= k {
            continue;
        }
        docs[y] += 1.0;
        for &(f, v) in x {
            mass[f * k + y] += v;
            totals[y] += v;
        }
    }
    let weights = mass
        .iter()
        .enumerate()
        .map(|(i, m)| ((m + ALPHA) / (totals[i % k] + ALPHA * n_features as f32)).ln())
        .collect();
    let n = vectors.len().max(1) as f32;
    let bias = docs
        .iter()
        .map(|d| ((d + 1.0) / (n + k as f32)).ln())
        .collect();
    (weights, bias)
}

/// Temperature scaling (Guo et al. 2017): train on four fifths of the documents, then pick the
/// temperature that minimises the log loss on the other fifth. Raw softmax scores of a linear
/// model on unit-length vectors are far from probabilities (this one was underconfident); one
/// scalar fixes most of it without changing which category wins. 1.0 when there are too few
/// documents to hold any out.
pub(crate) fn fit_temperature(
    vectors: &[Vec<(usize, f32)>],
    labels: &[usize],
    k: usize,
    fit: impl Fn(&[Vec<(usize, f32)>], &[usize]) -> (Vec<f32>, Vec<f32>),
) -> f32 {
    const HOLD_OUT_EVERY: usize = 5;
    if vectors.len() < 10 * HOLD_OUT_EVERY {
        return 1.0;
    }
    let mut fit_v = Vec::new();
    let mut fit_l = Vec::new();
    let mut held = Vec::new();
    for (i, (v, &l)) in vectors.iter().zip(labels).enumerate() {
        if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 {
            held.push((v, l));
        } else {
            fit_v.push(v.clone());
            fit_l.push(l);
        }
    }
    if fit_l
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        < 2
    {
        return 1.0;
    }
    let (weights, bias) = fit(&fit_v, &fit_l);
    let logits: Vec<(Vec<f32>, usize)> = held
        .iter()
        .map(|(v, l)| (linear_scores(v, &weights, &bias, k), *l))
        .collect();
    let log_loss = |t: f32| -> f32 {
        logits
            .iter()
            .map(|(scores, l)| {
                let mut p: Vec<f32> = scores.iter().map(|s| s / t).collect();
                softmax(&mut p);
                -p.get(*l).copied().unwrap_or(0.0).max(1e-7).ln()
            })
            .sum()
    };
    // Log-spaced grid from 0.05 to 5.
    (0..=40)
        .map(|i| 0.05 * 100f32.powf(i as f32 / 40.0))
        .min_by(|&a, &b| log_loss(a).total_cmp(&log_loss(b)))
        .unwrap_or(1.0)
}

/// xorshift64*: a tiny deterministic generator for shuffling.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}
