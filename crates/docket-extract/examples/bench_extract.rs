//! Extraction throughput of the process pool against poppler's and tesseract's own command
//! lines, side by side on the same files with the same parallelism.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-extract cargo build --release -p docket-extract --bins --examples
//! /work/target-extract/release/examples/bench_extract [workers] [pdf rounds] [scan pages]
//! ```
//!
//! Inputs are generated in a temporary directory from what Debian ships: man pages typeset to
//! PDF by groff, the PDF manuals under /usr/share/doc, and pages of those PDFs rendered at
//! 300 dpi by pdftoppm as the "scans". Needs groff, poppler-utils and tesseract-ocr-eng.
//!
//! PDF: N pool children vs N concurrent `pdftotext FILE -`. OCR: N pool children vs N
//! concurrent `tesseract FILE stdout` with `OMP_THREAD_LIMIT=1` (one process per core, the
//! fastest way to run the CLI on many pages). The pool is warmed with one document per child
//! first: in production it lives as long as the worker.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use docket_extract::pool::{ExtractorPool, PoolConfig, Request, Source};
use docket_extract::Options;

const MAN_PAGES: &[&str] = &[
    "bash",
    "find",
    "grep",
    "tar",
    "dpkg",
    "ssh",
    "systemctl",
    "apt-get",
];
const SHIPPED_PDFS: &[&str] = &[
    "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
    "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
];
/// (man page, page) pairs rendered as scans.
const SCANS: &[(&str, u32)] = &[
    ("grep", 1),
    ("grep", 2),
    ("tar", 1),
    ("tar", 2),
    ("find", 1),
    ("find", 2),
    ("dpkg", 1),
    ("dpkg", 2),
    ("ssh", 1),
    ("ssh", 2),
    ("bash", 3),
    ("bash", 4),
];

fn sh(script: &str) {
    let status = Command::new("sh")
        .args(["-c", script])
        .stderr(Stdio::null())
        .status()
        .expect("sh");
    assert!(status.success(), "{script}");
}

fn pages_of(pdf: &Path) -> u32 {
    let out = Command::new("pdfinfo").arg(pdf).output().expect("pdfinfo");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("page count")
}

/// Runs `jobs` through `workers` threads each spawning `command(job)`; returns the wall time.
fn run_cli(
    jobs: &[PathBuf],
    workers: usize,
    command: impl Fn(&Path) -> Command + Sync,
) -> Duration {
    let queue = Mutex::new(jobs.iter().collect::<VecDeque<_>>());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let Some(job) = queue.lock().expect("queue").pop_front() else {
                    return;
                };
                let out = command(job).stderr(Stdio::null()).output().expect("spawn");
                assert!(out.status.success(), "{}", job.display());
            });
        }
    });
    started.elapsed()
}

async fn run_pool(pool: &ExtractorPool, jobs: &[PathBuf]) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = jobs
        .iter()
        .map(|path| {
            let pool = pool.clone();
            let request = Request {
                source: Source::Path(path.clone()),
                name: path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into(),
                options: Options::default(),
            };
            tokio::spawn(async move { pool.extract(request, |_| {}).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("extract");
    }
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numeric argument"))
        .collect();
    let workers = args.first().copied().unwrap_or(2);
    let rounds = args.get(1).copied().unwrap_or(5);
    let scans = args.get(2).copied().unwrap_or(SCANS.len()).min(SCANS.len());

    let dir = tempfile::tempdir().expect("tempdir");
    let mut pdfs = Vec::new();
    for page in MAN_PAGES {
        let source = format!("/usr/share/man/man1/{page}.1.gz");
        if Path::new(&source).exists() {
            let out = dir.path().join(format!("man-{page}.pdf"));
            sh(&format!(
                "zcat {source} | groff -man -Tpdf -P-pletter > {}",
                out.display()
            ));
            pdfs.push(out);
        }
    }
    pdfs.extend(
        SHIPPED_PDFS
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists()),
    );
    let pdf_pages: u32 = pdfs.iter().map(|p| pages_of(p)).sum();
    let mut scan_files = Vec::new();
    for &(page, n) in &SCANS[..scans] {
        let pdf = dir.path().join(format!("man-{page}.pdf"));
        let root = dir.path().join(format!("scan-{page}-{n}"));
        sh(&format!(
            "pdftoppm -png -r 300 -f {n} -l {n} -singlefile {} {}",
            pdf.display(),
            root.display()
        ));
        scan_files.push(root.with_extension("png"));
    }

    let program = std::env::var_os("DOCKET_EXTRACTOR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("current exe");
            exe.parent()
                .and_then(Path::parent)
                .expect("target dir")
                .join("docket-extractor")
        });
    let mut config = PoolConfig::new(&program, Vec::new());
    config.size = workers;
    let pool = ExtractorPool::new(config);
    // One OCR per child: starts it and loads its engine, as a long-lived worker would have.
    let warm: Vec<PathBuf> = std::iter::repeat_n(scan_files[0].clone(), workers).collect();
    let warmup = run_pool(&pool, &warm).await;

    let pdf_jobs: Vec<PathBuf> = (0..rounds).flat_map(|_| pdfs.iter().cloned()).collect();
    let total_pdf_pages = f64::from(pdf_pages) * rounds as f64;
    let cli_pdf = run_cli(&pdf_jobs, workers, |p| {
        let mut c = Command::new("pdftotext");
        c.arg(p).arg("-");
        c
    });
    let pool_pdf = run_pool(&pool, &pdf_jobs).await;

    let cli_ocr = run_cli(&scan_files, workers, |p| {
        let mut c = Command::new("tesseract");
        c.arg(p).arg("stdout").env("OMP_THREAD_LIMIT", "1");
        c
    });
    let pool_ocr = run_pool(&pool, &scan_files).await;

    let rate = |pages: f64, d: Duration| pages / d.as_secs_f64();
    let pdf_cli_rate = rate(total_pdf_pages, cli_pdf);
    let pdf_pool_rate = rate(total_pdf_pages, pool_pdf);
    let ocr_cli_rate = rate(scan_files.len() as f64, cli_ocr);
    let ocr_pool_rate = rate(scan_files.len() as f64, pool_ocr);
    println!(
        "inputs: {} PDFs ({pdf_pages} pages) × {rounds} rounds; {} scanned pages (300 dpi PNG); \
         {workers} workers; pool warm-up {:.1} s",
        pdfs.len(),
        scan_files.len(),
        warmup.as_secs_f64()
    );
    println!("| workload | command line | pool | ratio |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| PDF text layer ({} pages) | pdftotext: {pdf_cli_rate:.0} pages/s ({:.2} s) | {pdf_pool_rate:.0} pages/s ({:.2} s) | {:.2}× |",
        total_pdf_pages,
        cli_pdf.as_secs_f64(),
        pool_pdf.as_secs_f64(),
        pdf_pool_rate / pdf_cli_rate
    );
    println!(
        "| OCR ({} pages) | tesseract, OMP_THREAD_LIMIT=1: {ocr_cli_rate:.3} pages/s ({:.1} s) | {ocr_pool_rate:.3} pages/s ({:.1} s) | {:.2}× |",
        scan_files.len(),
        cli_ocr.as_secs_f64(),
        pool_ocr.as_secs_f64(),
        ocr_pool_rate / ocr_cli_rate
    );
}
