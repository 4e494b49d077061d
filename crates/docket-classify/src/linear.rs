//! The arithmetic shared by training and prediction: document vectors, scores, softmax.

/// `(feature index, (1 + ln tf) · idf)` for the features the model knows, unit length.
pub(crate) fn vectorise(counts: &[(u32, u32)], features: &[u32], idf: &[f32]) -> Vec<(usize, f32)> {
    let mut x: Vec<(usize, f32)> = counts
        .iter()
        .filter_map(|&(id, tf)| {
            let f = features.binary_search(&id).ok()?;
            Some((f, (1.0 + (tf as f32).ln()) * idf.get(f)?))
        })
        .collect();
    let norm = x.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, v) in &mut x {
            *v /= norm;
        }
    }
    x
}

/// `bias + x · W`, one score per category (`W` has one row of `k` weights per feature).
pub(crate) fn linear_scores(
    x: &[(usize, f32)],
    weights: &[f32],
    bias: &[f32],
    k: usize,
) -> Vec<f32> {
    let mut scores = bias.to_vec();
    for &(f, v) in x {
        if let Some(row) = weights.get(f * k..(f + 1) * k) {
            for (s, w) in scores.iter_mut().zip(row) {
                *s += v * w;
            }
        }
    }
    scores
}

pub(crate) fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    if sum > 0.0 {
        for s in scores.iter_mut() {
            *s /= sum;
        }
    }
}

pub(crate) fn argmax(values: &[f32]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        .map(|(i, _)| i)
}
