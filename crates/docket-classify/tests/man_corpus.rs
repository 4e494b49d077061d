//! `auto` on real documents: Debian man pages of sections 2, 3, 5 and 7 (packages `manpages`
//! and `manpages-dev`), labelled by section, rendered to text the way
//! `scripts/classify_corpus.sh` does, split by a hash of the file name. Needs the Debian
//! packages that `scripts/lib.sh` installs (`ensure_system_packages`).

use std::path::{Path, PathBuf};
use std::process::Command;

use docket_classify::eval::{is_test, score};
use docket_classify::{AutoModel, LabelledText, TrainConfig};

const SECTIONS: [&str; 4] = ["2", "3", "5", "7"];
/// Pages per section (the first ones by name hash), to keep the test quick.
const PER_SECTION: usize = 60;

fn fnv(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn pages() -> Vec<(String, PathBuf)> {
    let out = Command::new("dpkg-query")
        .args(["-L", "manpages", "manpages-dev"])
        .output()
        .expect("dpkg-query runs (a Debian system is needed)");
    assert!(
        out.status.success(),
        "packages manpages and manpages-dev are needed: run scripts/test.sh, or \
         apt-get install man-db groff-base bsdextrautils manpages manpages-dev"
    );
    let listing = String::from_utf8_lossy(&out.stdout);
    let mut pages = Vec::new();
    for section in SECTIONS {
        let dir = format!("/usr/share/man/man{section}/");
        let mut files: Vec<PathBuf> = listing
            .lines()
            .filter(|l| l.starts_with(&dir))
            .map(PathBuf::from)
            .filter(|p| p.is_file() && !p.is_symlink())
            .collect();
        files.sort_by_key(|p| fnv(&p.to_string_lossy()));
        files.truncate(PER_SECTION);
        pages.extend(files.into_iter().map(|p| (section.to_owned(), p)));
    }
    pages
}

/// `MANWIDTH=80 man -l -Tutf8 FILE | col -bx`, without the title and footer lines (they spell
/// the section out).
fn render(page: &Path) -> String {
    let out = Command::new("sh")
        .args([
            "-c",
            "MANWIDTH=80 man -l -Tutf8 \"$1\" 2>/dev/null | col -bx",
            "render",
        ])
        .arg(page)
        .output()
        .expect("sh runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    match (first, last) {
        (Some(f), Some(l)) if f < l => lines[f + 1..l].join("\n"),
        _ => String::new(),
    }
}

#[test]
fn auto_classifies_man_pages_by_section_well_above_chance() {
    let pages = pages();
    assert!(
        pages.len() >= 150,
        "only {} man pages found: are manpages and manpages-dev installed, and not excluded by dpkg?",
        pages.len()
    );
    // Render on two threads.
    let (a, b) = pages.split_at(pages.len() / 2);
    let render_all = |part: &[(String, PathBuf)]| -> Vec<(String, String, String)> {
        part.iter()
            .map(|(section, path)| {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (format!("{section}/{name}"), section.clone(), render(path))
            })
            .collect()
    };
    let docs: Vec<(String, String, String)> = std::thread::scope(|s| {
        let h = s.spawn(|| render_all(a));
        let mut docs = render_all(b);
        docs.extend(h.join().expect("render thread"));
        docs
    });
    let rendered = docs.iter().filter(|d| d.2.len() > 200).count();
    assert!(
        rendered * 10 >= docs.len() * 9,
        "only {rendered} of {} pages rendered: is man-db installed?",
        docs.len()
    );

    let (test, train): (Vec<_>, Vec<_>) = docs.iter().partition(|d| is_test(&d.0, 5));
    let labelled: Vec<LabelledText<'_>> = train
        .iter()
        .map(|d| LabelledText {
            text: &d.2,
            category: &d.1,
        })
        .collect();
    let model = AutoModel::train(&labelled, &TrainConfig::default()).expect("four sections");
    assert_eq!(model.categories(), SECTIONS);
    let scores = score(
        test.iter()
            .map(|d| (d.1.as_str(), model.predict(&d.2).map(|(c, _)| c))),
    );
    eprintln!(
        "man pages: {} train, {} test, accuracy {:.3}, macro-F1 {:.3}",
        train.len(),
        test.len(),
        scores.accuracy,
        scores.macro_f1
    );
    // Chance is about 0.25 (four sections of similar size); measured: see BENCHMARKS.md.
    assert!(scores.accuracy >= 0.75, "accuracy {:.3}", scores.accuracy);
    assert!(scores.macro_f1 >= 0.65, "macro-F1 {:.3}", scores.macro_f1);
}
