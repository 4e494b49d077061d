//! Stage checkpoints through a real `docket serve`, on SQLite and PostgreSQL: a 20-page
//! scanned PDF (no text layer: every page needs OCR) is paused in the middle of OCR and
//! resumed, or the server is SIGKILLed in the middle of OCR and restarted on the same database
//! and blob directory. Pages OCR'd before the interruption are not OCR'd again.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use support::Server;

const PAGES: u32 = 20;
const OCR_PAGES: &str = "docket_ocr_pages_total";

/// The word that marks page N (1-based): words survive OCR better than digits.
fn page_word(n: u32) -> &'static str {
    const WORDS: [&str; 20] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango",
    ];
    WORDS[(n as usize - 1) % WORDS.len()]
}

/// A letter-size page per word, typeset by groff, rendered to PNGs by pdftoppm and joined
/// by img2pdf: pictures of pages, without a text layer.
fn scanned_pdf(dir: &Path) -> Vec<u8> {
    let roff: Vec<String> = (1..=PAGES)
        .map(|n| format!(".ps 20\n.vs 26\n.nf\nScanned page\n{}\n", page_word(n)))
        .collect();
    std::fs::write(dir.join("scan.roff"), roff.join(".bp\n")).expect("write roff");
    let status = Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        .arg(
            "groff -Tpdf -P-pletter scan.roff > typeset.pdf && pdftoppm -r 150 -png typeset.pdf pg \
             && img2pdf pg-*.png -o scanned.pdf",
        )
        .stderr(Stdio::null())
        .status()
        .expect("run groff, pdftoppm and img2pdf");
    assert!(status.success(), "making the scanned PDF failed");
    std::fs::read(dir.join("scanned.pdf")).expect("read scanned PDF")
}

async fn submit_scan(server: &Server) -> String {
    let pdf = scanned_pdf(server.path());
    let form = Form::new()
        .part("options", Part::text(r#"{"max_workers": 1}"#))
        .part("files", Part::bytes(pdf).file_name("scanned.pdf"));
    let r = server
        .post("/v1/jobs")
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    let job: Value = r.json().await.expect("job");
    job["id"].as_str().expect("job id").to_owned()
}

async fn wait_for_ocr(server: &Server, pages: f64) -> f64 {
    let start = Instant::now();
    loop {
        let n = server.metric(OCR_PAGES).await;
        if n >= pages {
            return n;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "only {n} pages OCR'd"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn control(server: &Server, id: &str, action: &str) {
    let r = server
        .post(&format!("/v1/jobs/{id}/{action}"))
        .send()
        .await
        .expect(action);
    assert!(r.status().is_success(), "{action}: {:?}", r.text().await);
}

/// The finished job's document has the text of every page, in order.
async fn assert_all_pages_in_the_text(server: &Server, id: &str) {
    let done = server
        .wait(id, Duration::from_secs(300), "completion", |j| {
            j["state"] == "completed"
        })
        .await;
    assert_eq!(done["counts"]["succeeded"], 1, "{done}");
    let items: Value = server
        .get(&format!("/v1/jobs/{id}/items"))
        .send()
        .await
        .expect("items")
        .json()
        .await
        .expect("items json");
    let document = items["items"][0]["document_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no document: {items}"))
        .to_owned();
    let doc: Value = server
        .get(&format!("/v1/documents/{document}"))
        .send()
        .await
        .expect("document")
        .json()
        .await
        .expect("document json");
    assert_eq!(doc["pages"], PAGES, "{doc}");
    let text = doc["text"].as_str().expect("text").to_lowercase();
    let pages: Vec<&str> = text.split('\x0c').collect();
    assert_eq!(pages.len(), PAGES as usize, "{text:?}");
    for (i, page) in pages.iter().enumerate() {
        assert!(
            page.contains(page_word(i as u32 + 1)),
            "page {}: {page:?}",
            i + 1
        );
    }
}

fn env(database_url: &Option<String>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("DOCKET_WORKERS", "1".to_owned()),
        ("DOCKET_LEASE_SECONDS", "2".to_owned()),
    ];
    if let Some(url) = database_url {
        env.push(("DOCKET_DATABASE_URL", url.clone()));
    }
    env
}

async fn paused_mid_ocr_and_resumed_ocrs_each_page_once(database_url: Option<String>) {
    let server = Server::start(&env(&database_url));
    let id = submit_scan(&server).await;
    wait_for_ocr(&server, 4.0).await;
    control(&server, &id, "pause").await;
    server
        .wait(&id, Duration::from_secs(60), "paused", |j| {
            j["state"] == "paused"
        })
        .await;
    let before_resume = server.metric(OCR_PAGES).await;
    assert!(
        before_resume < f64::from(PAGES),
        "paused in the middle of OCR, after {before_resume} pages"
    );
    control(&server, &id, "resume").await;
    assert_all_pages_in_the_text(&server, &id).await;
    assert_eq!(
        server.metric(OCR_PAGES).await,
        f64::from(PAGES),
        "every page OCR'd exactly once across the pause"
    );
}

/// Page texts saved so far: one blob each under the job's checkpoint prefix.
fn saved_pages(data: &Path) -> u32 {
    let mut n = 0;
    let mut dirs: Vec<PathBuf> = vec![data.join("blobs")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.parent().is_some_and(|p| p.ends_with("ocr"))
                && path.to_string_lossy().contains("/checkpoints/")
            {
                n += 1;
            }
        }
    }
    n
}

async fn killed_mid_ocr_and_restarted_repeats_at_most_the_page_in_flight(
    database_url: Option<String>,
) {
    let server = Server::start(&env(&database_url));
    let id = submit_scan(&server).await;
    wait_for_ocr(&server, 4.0).await;
    // Every page counted here was sent to OCR before the kill: the count at the kill is at
    // least this, and at most one more than the pages whose text was saved.
    let before_kill = server.metric(OCR_PAGES).await as u32;
    let dir = server.kill_9();
    // A page's text blob is written just before the checkpoint naming it, so the checkpoint
    // names either all of these or all but the last.
    let blobs = saved_pages(&dir.path().join("data"));
    assert!((1..PAGES).contains(&blobs), "{blobs} pages saved");

    let server = Server::start_in(dir, &env(&database_url));
    assert_all_pages_in_the_text(&server, &id).await;
    let after_restart = server.metric(OCR_PAGES).await as u32;
    assert!(
        after_restart == PAGES - blobs || after_restart == PAGES - blobs + 1,
        "the restarted server OCR'd only the {} unsaved pages, not {after_restart}",
        PAGES - blobs
    );
    assert!(
        before_kill + after_restart <= PAGES + 1,
        "at most the page in flight repeats: {before_kill} before the kill, \
         {after_restart} after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pause_mid_ocr_then_resume() {
    paused_mid_ocr_and_resumed_ocrs_each_page_once(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pause_mid_ocr_then_resume() {
    let url = docket_store::testing::fresh_postgres_url().await;
    paused_mid_ocr_and_resumed_ocrs_each_page_once(Some(url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_mid_ocr_then_restart() {
    killed_mid_ocr_and_restarted_repeats_at_most_the_page_in_flight(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_mid_ocr_then_restart() {
    let url = docket_store::testing::fresh_postgres_url().await;
    killed_mid_ocr_and_restarted_repeats_at_most_the_page_in_flight(Some(url)).await;
}
