//! Accuracy of `auto` on a labelled corpus laid out as `DIR/<label>/*.txt`.
//!
//! About one document in five (chosen by a hash of `<label>/<file name>`, so the split is the
//! same everywhere) is held out; the model is trained on the rest and scored on it. Prints one
//! JSON line.
//!
//! ```text
//! scripts/classify_corpus.sh /tmp/man-corpus
//! cargo run --release -p docket-classify --example auto_accuracy -- /tmp/man-corpus
//! cargo run --release -p docket-classify --example auto_accuracy -- /tmp/man-corpus --model naive_bayes --bigrams
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use docket_classify::eval::{calibration_error, fold_of, is_test, score};
use docket_classify::{AutoModel, LabelledText, ModelKind, TrainConfig};

struct Doc {
    key: String,
    label: String,
    text: String,
}

fn load(dir: &Path) -> Result<Vec<Doc>, String> {
    let mut docs = Vec::new();
    let mut labels: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    labels.sort();
    for label_dir in labels {
        let label = label_dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{}: not a UTF-8 name", label_dir.display()))?
            .to_owned();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&label_dir)
            .map_err(|e| format!("{}: {e}", label_dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            docs.push(Doc {
                key: format!("{label}/{name}"),
                label: label.clone(),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
    }
    Ok(docs)
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut config = TrainConfig::default();
    let mut cv = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--model" => {
                config.kind = match args.next().as_deref() {
                    Some("logistic") => ModelKind::Logistic,
                    Some("naive_bayes") => ModelKind::NaiveBayes,
                    other => return Err(format!("--model logistic|naive_bayes, not {other:?}")),
                }
            }
            "--bigrams" => config.bigrams = true,
            "--cv" => cv = true,
            "--unbalanced" => config.balanced = false,
            "--epochs" => {
                config.epochs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--epochs N")?
            }
            "--max-features" => {
                config.max_features = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--max-features N")?
            }
            _ if dir.is_none() => dir = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let dir = dir.ok_or("usage: auto_accuracy DIR [--model logistic|naive_bayes] [--bigrams]")?;
    let docs = load(&dir)?;
    if cv {
        return cross_validate(&docs, &config);
    }
    let (test, train): (Vec<&Doc>, Vec<&Doc>) = docs.iter().partition(|d| is_test(&d.key, 5));
    let labelled: Vec<LabelledText<'_>> = train
        .iter()
        .map(|d| LabelledText {
            text: &d.text,
            category: &d.label,
        })
        .collect();

    let started = Instant::now();
    let model = AutoModel::train(&labelled, &config).ok_or("fewer than two labels")?;
    let train_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let predictions: Vec<Option<(&str, f32)>> =
        test.iter().map(|d| model.predict(&d.text)).collect();
    let classify_seconds = started.elapsed().as_secs_f64();
    let scores = score(
        test.iter()
            .zip(&predictions)
            .map(|(d, p)| (d.label.as_str(), p.map(|(c, _)| c))),
    );
    let mean_confidence = predictions
        .iter()
        .map(|p| p.map_or(0.0, |(_, c)| f64::from(c)))
        .sum::<f64>()
        / predictions.len().max(1) as f64;
    let calibration: Vec<(f32, bool)> = test
        .iter()
        .zip(&predictions)
        .map(|(d, p)| p.map_or((0.0, false), |(c, conf)| (conf, c == d.label)))
        .collect();
    let ece = calibration_error(&calibration);
    let round = |v: f64| (v * 10_000.0).round() / 10_000.0;
    let per_category: serde_json::Map<String, serde_json::Value> = scores
        .f1
        .iter()
        .map(|(k, v)| (k.clone(), round(*v).into()))
        .collect();
    let model_bytes = serde_json::to_vec(&model).map_err(|e| e.to_string())?.len();

    let line = serde_json::json!({
        "documents": docs.len(),
        "train": train.len(),
        "test": test.len(),
        "categories": model.categories().len(),
        "accuracy": (scores.accuracy * 10_000.0).round() / 10_000.0,
        "macro_f1": (scores.macro_f1 * 10_000.0).round() / 10_000.0,
        "f1": per_category,
        "mean_confidence": round(mean_confidence),
        "calibration_error": round(ece),
        "model": model.kind(),
        "bigrams": config.bigrams,
        "features": model.feature_count(),
        "model_json_bytes": model_bytes,
        "train_seconds": (train_seconds * 1000.0).round() / 1000.0,
        "classify_ms_per_doc": (classify_seconds * 1000.0 / test.len().max(1) as f64 * 1000.0).round() / 1000.0,
    });
    println!("{line}");
    Ok(())
}

/// Five-fold cross-validation: every document is tested once, by a model trained on the other
/// four folds. Prints one JSON line with the pooled accuracy and macro-F1.
fn cross_validate(docs: &[Doc], config: &TrainConfig) -> Result<(), String> {
    const FOLDS: u64 = 5;
    let mut pairs: Vec<(&str, Option<String>)> = Vec::new();
    let started = Instant::now();
    for fold in 0..FOLDS {
        let (test, train): (Vec<&Doc>, Vec<&Doc>) =
            docs.iter().partition(|d| fold_of(&d.key, FOLDS) == fold);
        let labelled: Vec<LabelledText<'_>> = train
            .iter()
            .map(|d| LabelledText {
                text: &d.text,
                category: &d.label,
            })
            .collect();
        let model = AutoModel::train(&labelled, config).ok_or("fewer than two labels")?;
        for d in test {
            pairs.push((&d.label, model.predict(&d.text).map(|(c, _)| c.to_owned())));
        }
    }
    let scores = score(pairs.iter().map(|(t, p)| (*t, p.as_deref())));
    let round = |v: f64| (v * 10_000.0).round() / 10_000.0;
    let line = serde_json::json!({
        "documents": docs.len(),
        "folds": FOLDS,
        "cv_accuracy": round(scores.accuracy),
        "cv_macro_f1": round(scores.macro_f1),
        "f1": scores.f1.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(round(*v)))).collect::<serde_json::Map<_, _>>(),
        "model": config.kind,
        "bigrams": config.bigrams,
        "seconds": round(started.elapsed().as_secs_f64()),
    });
    println!("{line}");
    Ok(())
}
