//! Real documents for the PDF and OCR tests, generated at test time from what Debian ships
//! (packages listed in `scripts/lib.sh`): man pages typeset to PDF by groff, the PDF manuals in
//! /usr/share/doc, and scans made from them with poppler-utils, img2pdf, libtiff-tools and
//! webp. Nothing here was written for the project, and nothing is committed.
#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Man pages typeset as test PDFs: bash's is 87 pages, the others 9 to 25.
// `stat` and `ls` set tables with gaps rather than spaces (see `word_similarity`).
const MAN_PAGES: &[&str] = &["bash", "find", "grep", "tar", "dpkg", "ssh", "stat", "ls"];

/// PDF manuals some Debian packages ship (made with pdfTeX, unlike groff's).
const SHIPPED_PDFS: &[&str] = &[
    "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
    "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
];

fn cache_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docket-extract-real");
    std::fs::create_dir_all(&dir).expect("create fixture cache");
    dir
}

/// `name` in the cache, made by `make(tmp_path)` if missing. Written under a unique name and
/// renamed, so test processes running in parallel never see half a file.
pub fn generated(name: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let path = cache_dir().join(name);
    if !path.exists() {
        let tmp = cache_dir().join(format!(".{name}.{}", std::process::id()));
        make(&tmp);
        assert!(tmp.exists(), "generating {name} produced nothing");
        std::fs::rename(&tmp, &path).expect("rename fixture");
    }
    path
}

pub fn run(cmd: &mut Command) {
    let status = cmd
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (see ensure_system_packages in scripts/lib.sh)"));
    assert!(status.success(), "{cmd:?} failed: {status}");
}

/// A man page typeset to PDF by groff, if the man page is installed.
pub fn man_pdf(page: &str) -> Option<PathBuf> {
    let source = Path::new("/usr/share/man/man1").join(format!("{page}.1.gz"));
    source.exists().then(|| {
        generated(&format!("man-{page}.pdf"), |out| {
            let script = format!(
                "zcat {} | groff -man -Tpdf -P-pletter > {}",
                source.display(),
                out.display()
            );
            run(Command::new("sh").args(["-c", &script]));
        })
    })
}

/// Every real multi-page PDF available here; at least three or the test environment is
/// missing packages.
pub fn real_pdfs() -> Vec<PathBuf> {
    let mut pdfs: Vec<PathBuf> = MAN_PAGES.iter().filter_map(|p| man_pdf(p)).collect();
    pdfs.extend(
        SHIPPED_PDFS
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists()),
    );
    assert!(
        pdfs.len() >= 3,
        "need groff and installed man pages (found {pdfs:?})"
    );
    pdfs
}

/// What `pdftotext` makes of each page (split at its form feeds).
pub fn pdftotext_pages(pdf: &Path) -> Vec<String> {
    let out = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(out.status.success(), "pdftotext {}", pdf.display());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut pages: Vec<String> = text.split('\x0c').map(str::to_owned).collect();
    // pdftotext ends every page, the last too, with a form feed.
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// Our text split into pages.
pub fn our_pages(text: &str) -> Vec<String> {
    text.split('\x0c').map(str::to_owned).collect()
}

pub fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// 1 − (Levenshtein distance ÷ length of the longer text), over whitespace-normalised text,
/// summed page by page (distance over the whole of an 87-page document would take minutes).
pub fn similarity(reference: &[String], ours: &[String]) -> f64 {
    let (mut distance, mut length) = (0usize, 0usize);
    for i in 0..reference.len().max(ours.len()) {
        let a = normalise(reference.get(i).map_or("", String::as_str));
        let b = normalise(ours.get(i).map_or("", String::as_str));
        distance += strsim::levenshtein(&a, &b);
        length += a.chars().count().max(b.chars().count());
    }
    if length == 0 {
        1.0
    } else {
        1.0 - distance as f64 / length as f64
    }
}

/// Words the two texts share (as multisets), over all their words: what full-text search
/// sees. Two columns run together cost one character above but two words here.
pub fn word_similarity(reference: &[String], ours: &[String]) -> f64 {
    use std::collections::HashMap;
    fn count(pages: &[String]) -> HashMap<String, usize> {
        let mut words = HashMap::new();
        for page in pages {
            for word in page
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .filter(|w| !w.is_empty())
            {
                *words.entry(word.to_lowercase()).or_insert(0) += 1;
            }
        }
        words
    }
    let (a, b) = (count(reference), count(ours));
    let shared: usize = a
        .iter()
        .map(|(word, n)| (*n).min(b.get(word).copied().unwrap_or(0)))
        .sum();
    let total: usize = a.values().sum::<usize>() + b.values().sum::<usize>();
    if total == 0 {
        1.0
    } else {
        2.0 * shared as f64 / total as f64
    }
}

/// Character error rate: edits to turn `ocr` into `reference`, per reference character, both
/// whitespace-normalised.
pub fn cer(ocr: &str, reference: &str) -> f64 {
    let (a, b) = (normalise(ocr), normalise(reference));
    strsim::levenshtein(&a, &b) as f64 / b.chars().count().max(1) as f64
}

/// Page `page` (from 1) of a man page rendered at `dpi` by pdftoppm, as `format` ("png",
/// "jpeg" or "tiff").
pub fn scan(man: &str, page: u32, dpi: u32, format: &str) -> PathBuf {
    let pdf = man_pdf(man).unwrap_or_else(|| panic!("man page {man} is not installed"));
    // The extensions pdftoppm gives its output.
    let ext = match format {
        "jpeg" => "jpg",
        "tiff" => "tif",
        other => other,
    };
    generated(&format!("scan-{man}-{page}-{dpi}.{ext}"), |out| {
        // pdftoppm appends the extension itself.
        let root = PathBuf::from(format!("{}.pdftoppm", out.display()));
        run(Command::new("pdftoppm")
            .arg(format!("-{format}"))
            .args(["-r", &dpi.to_string(), "-f", &page.to_string()])
            .args(["-l", &page.to_string(), "-singlefile"])
            .arg(&pdf)
            .arg(&root));
        std::fs::rename(format!("{}.{ext}", root.display()), out).expect("rename scan");
    })
}

/// The reference text of one page of a man page.
pub fn page_text(man: &str, page: u32) -> String {
    let pdf = man_pdf(man).unwrap_or_else(|| panic!("man page {man} is not installed"));
    pdftotext_pages(&pdf)
        .into_iter()
        .nth(page as usize - 1)
        .expect("page exists")
}

/// The word that marks page N (1-based) of [`scanned_pdf`]: words survive OCR of small print
/// better than digits, which tesseract confuses with `|` and `l`.
pub fn page_word(n: u32) -> &'static str {
    const WORDS: [&str; 20] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango",
    ];
    WORDS[(n as usize - 1) % WORDS.len()]
}

/// A PDF of `pages` small pages that are pictures only (no text layer, so every page needs
/// OCR): groff typesets "Scanned page WORD" on each, pdftoppm renders them, img2pdf joins them.
pub fn scanned_pdf(pages: u32) -> PathBuf {
    generated(&format!("scanned-{pages}.pdf"), |out| {
        let work = PathBuf::from(format!("{}.d", out.display()));
        std::fs::create_dir_all(&work).expect("work dir");
        let roff: Vec<String> = (1..=pages)
            .map(|n| format!(".ps 20\n.vs 26\n.nf\nScanned page\n{}\n", page_word(n)))
            .collect();
        std::fs::write(work.join("doc.roff"), roff.join(".bp\n")).expect("write roff");
        run(Command::new("sh").current_dir(&work).arg("-c").arg(
            "groff -Tpdf -P-p4i,3i doc.roff > doc.pdf && pdftoppm -r 150 -png doc.pdf pg \
             && img2pdf pg-*.png -o scanned.pdf",
        ));
        std::fs::rename(work.join("scanned.pdf"), out).expect("move scan");
        std::fs::remove_dir_all(&work).expect("clean work dir");
    })
}
