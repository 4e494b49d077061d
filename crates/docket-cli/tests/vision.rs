//! OCR by Google Cloud Vision, end to end: a real `docket serve` on each backend sending
//! scanned pages to the Vision emulator (a real HTTP server that checks requests as Google
//! does and reads the images with the local tesseract), with an outage, a bad key and a 429
//! storm in the middle. "Every page read exactly once" is counted in what the emulator read.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{on_both_backends, Backend, Server};
use vision_emulator::{DownMode, Emulator, EmulatorConfig, FailRule, Record};

const KEY: &str = "AIza-test-key-0123456789";
const VISION_PAGES: &str = "docket_ocr_provider_pages_total{provider=\"google_vision\"}";
const TESSERACT_PAGES: &str = "docket_ocr_provider_pages_total{provider=\"tesseract\"}";

fn config(emulator: &Emulator, extra: &str) -> String {
    format!(
        "[ocr.google_vision]\nendpoint = \"{}\"\nmax_images_per_request = 2\ntimeout_seconds = 30\n{extra}\n\
         [remotes]\nfailures_to_trip = 3\nprobe_base_ms = 500\nprobe_max_ms = 2000\n",
        emulator.url()
    )
}

fn env(key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DOCKET_OCR_GOOGLE_VISION_API_KEY", key.to_owned()),
        ("DOCKET_WORKERS", "2".into()),
        ("DOCKET_RETRY_BASE_MS", "200".into()),
        ("DOCKET_RETRY_CAP_MS", "1000".into()),
        ("DOCKET_LEASE_SECONDS", "2".into()),
    ]
}

const WORDS: [&str; 12] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
    "kilo", "lima",
];

/// A scanned PDF (pictures of pages, no text layer) of `doc`'s pages: page `p` reads
/// "Scanned page <word>" with a word of its own, so no two pages of a test are alike.
fn scanned_pdf(dir: &Path, doc: usize, pages: usize) -> Vec<u8> {
    let work = dir.join(format!("scan-{doc}"));
    std::fs::create_dir_all(&work).expect("scan dir");
    let roff: Vec<String> = (0..pages)
        .map(|p| {
            format!(
                ".ps 22\n.vs 28\n.nf\nScanned page\n{} {}\n",
                WORDS[p % WORDS.len()],
                WORDS[doc % WORDS.len()]
            )
        })
        .collect();
    std::fs::write(work.join("scan.roff"), roff.join(".bp\n")).expect("write roff");
    let status = Command::new("sh")
        .current_dir(&work)
        .arg("-c")
        .arg(
            "groff -Tpdf -P-pletter scan.roff > typeset.pdf && pdftoppm -r 150 -gray -png typeset.pdf pg \
             && img2pdf pg-*.png -o scanned.pdf",
        )
        .stderr(Stdio::null())
        .status()
        .expect("run groff, pdftoppm and img2pdf");
    assert!(status.success(), "making the scanned PDF failed");
    std::fs::read(work.join("scanned.pdf")).expect("read scanned PDF")
}

/// A PDF with a text layer (typeset, not scanned): none of its pages may leave the machine.
fn typeset_pdf(dir: &Path) -> Vec<u8> {
    std::fs::write(
        dir.join("typeset.roff"),
        ".nf\nA typeset page with a text layer\n",
    )
    .expect("write roff");
    let out = Command::new("groff")
        .current_dir(dir)
        .args(["-Tpdf", "typeset.roff"])
        .output()
        .expect("run groff");
    assert!(out.status.success());
    out.stdout
}

fn scans(dir: &Path, docs: usize, pages: usize) -> Vec<(String, Vec<u8>)> {
    (0..docs)
        .map(|d| (format!("scan-{d:02}.pdf"), scanned_pdf(dir, d, pages)))
        .collect()
}

/// Each image the emulator read, once: as many distinct images as reads, and `pages` of them.
fn assert_read_once(record: &Record, pages: usize) {
    let distinct: HashSet<&str> = record.read.iter().map(|r| r.sha256.as_str()).collect();
    assert_eq!(distinct.len(), record.read.len(), "a page was read twice");
    assert_eq!(record.pages_read(), pages, "pages read");
}

async fn until(emulator: &Emulator, within: Duration, what: &str, done: impl Fn(&Record) -> bool) {
    let start = Instant::now();
    loop {
        if done(&emulator.record()) {
            return;
        }
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An emulator that takes [`KEY`].
async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        api_key: KEY.into(),
        ..EmulatorConfig::default()
    })
    .await
    .expect("start the Vision emulator")
}

async fn document(server: &Server, id: &str) -> Value {
    let r = server
        .get(&format!("/v1/documents/{id}"))
        .send()
        .await
        .expect("document");
    assert_eq!(r.status(), 200);
    r.json().await.expect("document json")
}

/// Every item of the job succeeded with no error recorded (no retry budget spent).
async fn assert_no_item_failed(server: &Server, id: &str, n: usize) {
    let items = server.items(id, "").await;
    let items = items["items"].as_array().expect("items");
    assert_eq!(items.len(), n);
    for item in items {
        assert_eq!(item["state"], "succeeded", "{item}");
        assert_eq!(item["errors"], json!([]), "{item}");
    }
}

async fn remotes(server: &Server) -> Value {
    let r = server.get("/v1/remotes").send().await.expect("remotes");
    assert_eq!(r.status(), 200);
    r.json().await.expect("remotes json")
}

async fn a_scanned_batch_is_read_by_google_vision(backend: Backend) {
    let emulator = emulator().await;
    let server = Server::start_configured(backend, &config(&emulator, ""), &env(KEY)).await;

    // Checked at the door: an unknown provider, and a wrong type.
    for options in [
        json!({"ocr": {"provider": "abbyy"}}),
        json!({"ocr": {"provider": 3}}),
    ] {
        let r = server
            .post("/v1/jobs")
            .json(&json!({"kind": "noop", "source": {"count": 1}, "options": options}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_options", "{problem}");
    }

    let mut files = scans(server.path(), 3, 3);
    files.push(("typeset.pdf".into(), typeset_pdf(server.path())));
    let job = server
        .submit_files(
            &files,
            json!({"ocr": {"provider": "google_vision", "languages": ["eng"]}}),
        )
        .await;
    assert_eq!(job["options"]["ocr"]["provider"], "google_vision", "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let done = server.finished(&id, Duration::from_secs(240)).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_no_item_failed(&server, &id, 4).await;

    // 9 scanned pages went to Vision, each once; the typeset page never left.
    assert_read_once(&emulator.record(), 9);
    assert_eq!(server.metric(VISION_PAGES).await, 9.0);
    assert_eq!(server.metric(TESSERACT_PAGES).await, 0.0);
    for item in server.items(&id, "").await["items"].as_array().unwrap() {
        let doc = document(&server, item["document_id"].as_str().unwrap()).await;
        let text = doc["text"].as_str().unwrap().to_lowercase();
        if doc["name"] == "typeset.pdf" {
            assert!(text.contains("text layer"), "{text:?}");
            assert!(doc["metadata"].get("ocr_provider").is_none(), "{doc}");
            continue;
        }
        let d: usize = doc["name"].as_str().unwrap()[5..7].parse().unwrap();
        let pages: Vec<&str> = text.split('\x0c').collect();
        assert_eq!(pages.len(), 3, "{text:?}");
        for (p, page) in pages.iter().enumerate() {
            assert!(
                page.contains(WORDS[p]) && page.contains(WORDS[d]),
                "page {p}: {page:?}"
            );
        }
        assert_eq!(doc["metadata"]["ocr_provider"], "google_vision", "{doc}");
        assert_eq!(
            doc["metadata"]["ocr_page_numbers"],
            json!([1, 2, 3]),
            "{doc}"
        );
    }
    let all = remotes(&server).await;
    assert_eq!(
        all["remotes"],
        json!([{"name": "google_vision", "kind": "ocr", "state": "up", "since": null,
                "last_error": null, "last_error_at": null}])
    );

    // A server without [ocr.google_vision] refuses the provider at the door.
    let plain = Server::start_on(backend, &[]).await;
    let r = plain
        .post("/v1/jobs")
        .json(&json!({"kind": "noop", "source": {"count": 1},
                      "options": {"ocr": {"provider": "google_vision"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_options", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not configured"),
        "{problem}"
    );
}

async fn an_outage_pauses_the_job_and_it_resumes_by_itself(backend: Backend) {
    let emulator = emulator().await;
    let server = Server::start_configured(backend, &config(&emulator, ""), &env(KEY)).await;
    let files = scans(server.path(), 4, 3);
    let job = server
        .submit_files(
            &files,
            json!({"ocr": {"provider": "google_vision"}, "max_retries": 1}),
        )
        .await;
    let id = job["id"].as_str().unwrap().to_owned();
    until(
        &emulator,
        Duration::from_secs(120),
        "the first pages",
        |r| r.pages_read() >= 2,
    )
    .await;

    // The network cable is pulled for 20 s.
    let outage = Instant::now();
    emulator
        .faults()
        .down_for(Duration::from_secs(20), DownMode::Reset);
    let paused = server
        .wait(&id, Duration::from_secs(20), "the outage pause", |j| {
            j["state"] == "paused"
        })
        .await;
    assert_eq!(paused["pause_reason"], "remote_unavailable", "{paused}");
    let down = remotes(&server).await;
    let vision = &down["remotes"][0];
    assert_eq!(vision["state"], "down", "{down}");
    assert!(
        vision["since"].is_string() && vision["last_error"].is_string(),
        "{down}"
    );
    assert!(!down.to_string().contains(KEY), "the key leaked: {down}");
    assert!(
        !down.to_string().contains("127.0.0.1"),
        "a URL leaked: {down}"
    );
    assert_eq!(
        server
            .metric("docket_remote_up{remote=\"google_vision\",kind=\"ocr\"}")
            .await,
        0.0
    );
    let out = server
        .docket()
        .env("DOCKET_SERVER", &server.url)
        .env("DOCKET_TOKEN", &server.token)
        .args(["remotes"])
        .output()
        .expect("docket remotes");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && shown.contains("google_vision") && shown.contains("down"),
        "{shown}"
    );

    // Back after 20 s: the job resumes by itself and finishes.
    let done = server.finished(&id, Duration::from_secs(240)).await;
    assert!(outage.elapsed() >= Duration::from_secs(20));
    assert_eq!(done["state"], "completed", "{done}");
    assert_no_item_failed(&server, &id, 4).await;
    assert_read_once(&emulator.record(), 12);
    assert!(
        emulator.record().refused_connections > 0,
        "the outage was never met"
    );
    assert_eq!(remotes(&server).await["remotes"][0]["state"], "up");
}

async fn a_bad_api_key_fails_items_clearly_and_pauses_the_job(backend: Backend) {
    let emulator = emulator().await;
    let wrong = "AIza-wrong-key-9876543210";
    let server = Server::start_configured(backend, &config(&emulator, ""), &env(wrong)).await;
    let files = scans(server.path(), 4, 1);
    let job = server
        .submit_files(
            &files,
            json!({"ocr": {"provider": "google_vision"}, "auto_pause_after": 3, "max_workers": 1}),
        )
        .await;
    let id = job["id"].as_str().unwrap().to_owned();
    let paused = server
        .wait(&id, Duration::from_secs(60), "the auto-pause", |j| {
            j["state"] == "paused"
        })
        .await;
    assert_eq!(paused["pause_reason"], "consecutive_failures", "{paused}");
    assert_eq!(paused["counts"]["failed"], 3, "{paused}");
    let failed = server.items(&id, "?state=failed").await;
    for item in failed["items"].as_array().unwrap() {
        let errors = item["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "a refused key is not retried: {item}");
        let message = errors[0]["message"].as_str().unwrap();
        assert!(message.contains("API key not valid"), "{message}");
        assert_eq!(errors[0]["transient"], false);
    }
    for text in [
        failed.to_string(),
        paused.to_string(),
        remotes(&server).await.to_string(),
        server
            .get("/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    ] {
        assert!(!text.contains(wrong), "the key leaked: {text}");
    }
    assert_eq!(emulator.record().pages_read(), 0);
    // The remote answered every time: a refused key is no outage.
    assert_eq!(remotes(&server).await["remotes"][0]["state"], "up");
}

async fn a_429_storm_slows_the_job_down_and_it_completes(backend: Backend) {
    let emulator = emulator().await;
    let server = Server::start_configured(
        backend,
        &config(&emulator, "requests_per_second = 20\nburst = 2"),
        &env(KEY),
    )
    .await;
    emulator.faults().fail(FailRule {
        count: 6,
        status: 429,
        retry_after_secs: Some(1),
    });
    let files = scans(server.path(), 3, 2);
    let job = server
        .submit_files(
            &files,
            json!({"ocr": {"provider": "google_vision"}, "max_retries": 0}),
        )
        .await;
    let id = job["id"].as_str().unwrap().to_owned();
    let done = server.finished(&id, Duration::from_secs(240)).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_no_item_failed(&server, &id, 3).await;
    let record = emulator.record();
    let refused = record.requests.iter().filter(|r| r.status == 429).count();
    assert_eq!(refused, 6, "{:?}", record.requests);
    assert_read_once(&record, 6);
}

on_both_backends!(
    a_scanned_batch_is_read_by_google_vision,
    an_outage_pauses_the_job_and_it_resumes_by_itself,
    a_bad_api_key_fails_items_clearly_and_pauses_the_job,
    a_429_storm_slows_the_job_down_and_it_completes,
);
