//! Real and hostile documents through a real `docket serve`: extraction runs in `docket
//! extractor` child processes, so a hostile file fails its own item with a clear message while
//! the good ones are extracted, searchable, and served back (original and thumbnail).
//! Every test runs on SQLite and on PostgreSQL (`…_sqlite`, `…_postgres`), each on a fresh
//! database.
//!
//! The real documents are generated at test time from what Debian ships (see
//! `ensure_system_packages` in scripts/lib.sh): man pages typeset to PDF by groff, and a page of
//! one scanned at 300 dpi by pdftoppm.

mod support;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{rngs::StdRng, RngCore, SeedableRng};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use support::{on_both_backends, Backend, Server};

fn cache_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docket-cli-documents");
    std::fs::create_dir_all(&dir).expect("create fixture cache");
    dir
}

/// `name` in the cache, made by `make(tmp_path)` if missing (written aside, then renamed, so
/// parallel test processes never see half a file).
fn generated(name: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let path = cache_dir().join(name);
    if !path.exists() {
        let tmp = cache_dir().join(format!(".{name}.{}", std::process::id()));
        make(&tmp);
        assert!(tmp.exists(), "generating {name} produced nothing");
        std::fs::rename(&tmp, &path).expect("rename fixture");
    }
    path
}

fn run(cmd: &mut Command) {
    let status = cmd
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (see ensure_system_packages in scripts/lib.sh)"));
    assert!(status.success(), "{cmd:?} failed: {status}");
}

/// A man page typeset to a multi-page PDF by groff.
pub fn man_pdf(page: &str) -> Vec<u8> {
    let source = Path::new("/usr/share/man/man1").join(format!("{page}.1.gz"));
    assert!(source.exists(), "man page {page} is not installed");
    let pdf = generated(&format!("man-{page}.pdf"), |out| {
        let script = format!(
            "zcat {} | groff -man -Tpdf -P-pletter > {}",
            source.display(),
            out.display()
        );
        run(Command::new("sh").args(["-c", &script]));
    });
    std::fs::read(pdf).expect("read pdf")
}

/// Page 1 of a man page rendered at 300 dpi as a PNG: a scan with no text layer.
fn scan_300dpi(page: &str) -> Vec<u8> {
    man_pdf(page);
    let pdf = cache_dir().join(format!("man-{page}.pdf"));
    let png = generated(&format!("scan-{page}-300.png"), |out| {
        let root = PathBuf::from(format!("{}.pdftoppm", out.display()));
        run(Command::new("pdftoppm")
            .args(["-png", "-r", "300", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&pdf)
            .arg(&root));
        std::fs::rename(format!("{}.png", root.display()), out).expect("rename scan");
    });
    std::fs::read(png).expect("read scan")
}

/// A DOCX-named ZIP whose document body inflates to 300 MiB.
fn zip_bomb() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("word/document.xml", options).expect("start");
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..300 {
        zip.write_all(&chunk).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}

/// A PDF whose only object is `depth` arrays nested in one another.
fn nested_arrays_pdf(depth: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n1 0 obj\n".to_vec();
    pdf.extend(std::iter::repeat_n(b'[', depth));
    pdf.extend(std::iter::repeat_n(b']', depth));
    pdf.extend_from_slice(b"\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    pdf
}

async fn items(server: &Server, job: &str) -> Vec<Value> {
    let page: Value = server
        .get(&format!("/v1/jobs/{job}/items?limit=100"))
        .send()
        .await
        .expect("items")
        .json()
        .await
        .expect("items json");
    page["items"].as_array().expect("items").clone()
}

async fn get(server: &Server, path: &str) -> reqwest::Response {
    server.get(path).send().await.expect(path)
}

async fn real_and_hostile_documents_end_to_end(backend: Backend) {
    let grep = man_pdf("grep");
    let tar = man_pdf("tar");
    let find = man_pdf("find");
    let scan = scan_300dpi("grep");
    let mut random = vec![0u8; 64 * 1024];
    StdRng::seed_from_u64(7).fill_bytes(&mut random);
    let notes = b"Meeting notes\nThe quokkaflux budget was approved.\n".to_vec();

    // (file name, bytes, expected: Ok(media type) or Err(part of the error message))
    let cases: Vec<(&str, Vec<u8>, Result<&str, &str>)> = vec![
        ("grep.pdf", grep.clone(), Ok("application/pdf")),
        ("tar.pdf", tar.clone(), Ok("application/pdf")),
        ("find.pdf", find.clone(), Ok("application/pdf")),
        ("scan-300dpi.png", scan.clone(), Ok("image/png")),
        ("notes.txt", notes.clone(), Ok("text/plain")),
        // Judged by its content, not its name: a PDF named .docx is extracted as a PDF.
        ("report.docx", tar.clone(), Ok("application/pdf")),
        ("empty.pdf", Vec::new(), Err("empty file")),
        ("truncated.pdf", grep[..300].to_vec(), Err("PDF")),
        ("random.pdf", random, Err("unsupported file type")),
        ("bomb.docx", zip_bomb(), Err("zip bomb")),
        ("nested.pdf", nested_arrays_pdf(1_000_000), Err("PDF")),
    ];

    let server = Server::start_on(backend, &[("DOCKET_WORKERS", "2".to_string())]).await;
    // Five hostile files in a row would auto-pause the job (SPEC §4): not what is tested here.
    let mut form = Form::new().part("options", Part::text(r#"{"auto_pause_after": 0}"#));
    for (name, bytes, _) in &cases {
        form = form.part(
            "files",
            Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    let r = server
        .post("/v1/jobs")
        .multipart(form)
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    let job: Value = r.json().await.expect("job");
    let job_id = job["id"].as_str().expect("job id").to_string();

    let done = server
        .wait(
            &job_id,
            Duration::from_secs(600),
            "the job to complete",
            |j| j["state"] == "completed",
        )
        .await;
    let expected_failures = cases.iter().filter(|c| c.2.is_err()).count();
    assert_eq!(
        done["counts"]["failed"],
        expected_failures,
        "{done} {:#?}",
        items(&server, &job_id).await
    );
    assert_eq!(done["counts"]["succeeded"], cases.len() - expected_failures);

    let items = items(&server, &job_id).await;
    assert_eq!(items.len(), cases.len());
    let mut documents = std::collections::HashMap::new();
    for (name, bytes, expected) in &cases {
        let item = items
            .iter()
            .find(|i| i["name"] == *name)
            .unwrap_or_else(|| panic!("no item {name}"));
        match expected {
            Ok(media_type) => {
                assert_eq!(item["state"], "succeeded", "{name}: {item}");
                assert_eq!(item["progress"], 100.0, "{name}: {item}");
                let id = item["document_id"]
                    .as_str()
                    .expect("document id")
                    .to_string();
                let doc: Value = get(&server, &format!("/v1/documents/{id}"))
                    .await
                    .json()
                    .await
                    .expect("document");
                assert_eq!(doc["media_type"], *media_type, "{name}");
                assert_eq!(doc["size"], bytes.len(), "{name}");
                documents.insert(*name, (id, doc));
            }
            Err(fragment) => {
                assert_eq!(item["state"], "failed", "{name}: {item}");
                // Permanent: one attempt, not retried.
                assert_eq!(item["attempts"], 1, "{name}: {item}");
                let error = &item["errors"][0];
                assert_eq!(error["transient"], false, "{name}: {item}");
                let message = error["message"].as_str().expect("message");
                assert!(message.contains(fragment), "{name}: {message}");
                assert!(
                    !message.contains("panick") && message.len() < 500,
                    "{name}: not a clear message: {message}"
                );
                eprintln!("{name}: {message}");
            }
        }
    }

    // Multi-page PDFs keep their pages; the scan was OCR'd.
    let (grep_id, grep_doc) = &documents["grep.pdf"];
    assert!(grep_doc["pages"].as_i64().unwrap() > 3, "{grep_doc}");
    assert!(grep_doc["text"]
        .as_str()
        .unwrap()
        .contains("print lines that match patterns"));
    let (scan_id, scan_doc) = &documents["scan-300dpi.png"];
    let scan_text = scan_doc["text"].as_str().unwrap().to_lowercase();
    assert!(
        scan_text.contains("patterns") && scan_text.contains("grep"),
        "OCR of the scan: {scan_text}"
    );
    assert_eq!(scan_doc["metadata"]["ocr_pages"], 1, "{scan_doc}");

    // Searchable.
    for (q, name) in [
        ("quokkaflux", "notes.txt"),
        ("egrep+fgrep", "grep.pdf"),
        ("tar", "tar.pdf"),
    ] {
        let found: Value = get(&server, &format!("/v1/search?q={q}&job={job_id}"))
            .await
            .json()
            .await
            .expect("search");
        let id = &documents[name].0;
        assert!(
            found["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["document_id"] == *id),
            "{q}: {found}"
        );
    }

    // Thumbnails of paged documents, PNGs.
    for name in ["grep.pdf", "scan-300dpi.png", "report.docx"] {
        let r = get(
            &server,
            &format!("/v1/documents/{}/thumbnail", documents[name].0),
        )
        .await;
        assert_eq!(r.status(), 200, "{name}");
        assert_eq!(r.headers()["content-type"], "image/png");
        let png = r.bytes().await.expect("png");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}");
    }
    // A text file has none: a problem, not an empty image.
    let r = get(
        &server,
        &format!("/v1/documents/{}/thumbnail", documents["notes.txt"].0),
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    // The originals, byte for byte, as downloads with their media type.
    for (name, bytes, expected) in &cases {
        if expected.is_err() {
            continue;
        }
        let r = get(
            &server,
            &format!("/v1/documents/{}/file", documents[name].0),
        )
        .await;
        assert_eq!(r.status(), 200, "{name}");
        let media_type = documents[name].1["media_type"].as_str().unwrap();
        assert_eq!(r.headers()["content-type"], media_type, "{name}");
        let disposition = r.headers()["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment;") && disposition.contains(name),
            "{disposition}"
        );
        assert_eq!(r.bytes().await.expect("file").as_ref(), bytes.as_slice());
    }

    // Another user's documents do not exist.
    let other = server.token_for("mallory");
    for what in ["file", "thumbnail"] {
        for id in [grep_id, scan_id] {
            let r = server
                .http
                .get(format!("{}/v1/documents/{id}/{what}", server.url))
                .bearer_auth(&other)
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), 404, "{what} of {id} for another user");
        }
    }

    // And the server is still healthy.
    assert_eq!(get(&server, "/healthz").await.status(), 200);
}

on_both_backends!(real_and_hostile_documents_end_to_end,);
