//! The extractor children's memory follows the configuration (`[extract] memory_limit_mb`):
//! a small PDF that makes poppler allocate without end (millions of nested `q`, each saving
//! the whole graphics state) fails its item as out of memory under that cap, not as a crash,
//! and the next document is extracted as usual. On SQLite and PostgreSQL.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{on_both_backends, Backend, Server};

/// A one-page PDF whose content stream is `saves` nested `q` (save graphics state) operators.
fn nested_saves_pdf(saves: usize) -> Vec<u8> {
    let content = "q\n".repeat(saves);
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len() + 1
        ),
    ];
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

async fn a_q_bomb_runs_out_of_memory_under_the_configured_cap(backend: Backend) {
    let server = Server::start_configured(
        backend,
        "workers = 1\n[extract]\nmemory_limit_mb = 200\n",
        &[],
    )
    .await;
    let files = [
        ("bomb.pdf".to_owned(), nested_saves_pdf(3_000_000)),
        ("after.txt".to_owned(), b"extraction goes on".to_vec()),
    ];
    let job = server.submit_files(&files, json!({"max_retries": 0})).await;
    let id = job["id"].as_str().expect("id");
    let done = server.finished(id, Duration::from_secs(120)).await;
    assert_eq!(done["counts"]["failed"], 1, "{done}");
    assert_eq!(done["counts"]["succeeded"], 1, "{done}");
    let items = server.items(id, "?state=failed").await;
    let item = &items["items"][0];
    assert_eq!(item["name"], "bomb.pdf");
    let message = item["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("ran out of memory (limit 200 MB)"),
        "the bomb's error: {message}"
    );
    assert_eq!(item["errors"][0]["transient"], false);
}

on_both_backends!(a_q_bomb_runs_out_of_memory_under_the_configured_cap);
