//! Results export through a real `docket serve` on a real port, on both backends: the flat
//! CSV, the ZIP bundle (layout, manifest against the job's documents, texts, thumbnails,
//! originals only when asked, hostile names made safe and unique, a missing blob skipped with a
//! note), a bundle of a running and of a paused job (exactly what had finished), a BagIt bag
//! checked by the Library of Congress's validator (`bagit.py`, installed by scripts/test.sh:
//! without it the test fails, it never skips), and the CLI's `-o`.

mod support;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rand::{rngs::StdRng, RngCore, SeedableRng};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use support::{on_both_backends, Backend, Server};

/// A multi-page PDF with a text layer (a man page typeset by groff): it gets a thumbnail.
fn man_pdf(dir: &Path) -> Vec<u8> {
    let out = dir.join("ls.pdf");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "zcat /usr/share/man/man1/ls.1.gz | groff -man -Tpdf > {}",
            out.display()
        ))
        .status()
        .expect("groff (see ensure_system_packages in scripts/lib.sh)");
    assert!(status.success(), "groff failed");
    std::fs::read(out).expect("read pdf")
}

async fn download(server: &Server, path: &str) -> reqwest::Response {
    server.get(path).send().await.expect("GET")
}

async fn bytes(server: &Server, path: &str) -> Vec<u8> {
    let r = download(server, path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.expect("a complete body").to_vec()
}

fn entries(zip: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a valid zip");
    let mut out = HashMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).expect("entry");
        let name = f.name().expect("entry name").to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("read entry");
        assert!(out.insert(name.clone(), data).is_none(), "{name} twice");
    }
    out
}

/// RFC 4180 records (quoted cells may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(
        cell.is_empty() && row.is_empty(),
        "the last record ends with CRLF"
    );
    rows
}

/// The manifest as maps from column to cell.
fn manifest(text: &str) -> Vec<HashMap<String, String>> {
    let rows = parse_csv(text);
    let header = rows[0].clone();
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            header.iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}

fn assert_safe(name: &str) {
    assert!(!name.starts_with('/'), "{name}");
    assert!(!name.contains(".."), "{name}");
    assert!(!name.contains('\\'), "{name}");
    assert!(!name.chars().any(char::is_control), "{name}");
}

const FLAT: &str = "name,state,document_id,sha256,media_type,size,pages,category,confidence,\
                    matched_by,reused,error";

async fn bundles_hold_the_finished_documents_safely_named(backend: Backend) {
    let server = Server::start_on(backend, &[("DOCKET_WORKERS", "2".to_string())]).await;
    let tmp = tempfile::tempdir().unwrap();
    let pdf = man_pdf(tmp.path());
    let mut random = vec![0u8; 4096];
    StdRng::seed_from_u64(12).fill_bytes(&mut random);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("../../etc/passwd.txt", b"not the password file".to_vec()),
        ("notes.txt", b"first notes, with a comma".to_vec()),
        ("notes.txt", b"second notes".to_vec()),
        ("NOTES.TXT", b"shouting notes".to_vec()),
        ("100% sure.md", b"# Sure\n\nQuite.".to_vec()),
        ("ls.pdf", pdf.clone()),
        ("random.pdf", random),
    ];
    let mut form = Form::new().part("options", Part::text(r#"{"auto_pause_after": 0}"#));
    for (name, data) in &files {
        form = form.part(
            "files",
            Part::bytes(data.clone()).file_name(name.to_string()),
        );
    }
    let r = server
        .post("/v1/jobs")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = server
        .wait(&id, Duration::from_secs(300), "completed", |j| {
            j["state"] == "completed"
        })
        .await;
    assert_eq!(done["counts"]["failed"], 1, "{done}");

    // The flat CSV: exactly the SPEC columns, one row per finished item, no JSON in a cell.
    let csv = String::from_utf8(bytes(&server, &format!("/v1/jobs/{id}/results?format=csv")).await)
        .unwrap();
    let rows = parse_csv(&csv);
    assert_eq!(rows[0].join(","), FLAT);
    assert_eq!(rows.len(), 1 + files.len(), "{csv}");
    assert!(rows.iter().flatten().all(|c| !c.starts_with('{')), "{csv}");
    let failed = rows
        .iter()
        .find(|r| r[1] == "failed")
        .expect("the failed item");
    assert_eq!(failed[0], "random.pdf");
    assert!(failed[11].contains("unsupported"), "{failed:?}");
    // json and ndjson carry the same rows.
    let ndjson = server.results(&id).await;
    assert_eq!(ndjson.len(), files.len());
    let json_rows: Vec<Value> = download(&server, &format!("/v1/jobs/{id}/results?format=json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json_rows, ndjson);

    // Unknown include values and include without a bundle are refused.
    for query in ["format=zip&include=everything", "format=csv&include=files"] {
        let r = download(&server, &format!("/v1/jobs/{id}/results?{query}")).await;
        assert_eq!(r.status(), 400, "{query}");
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
    }

    // A thumbnail that was never made is skipped with a note.
    let pdf_sha = ndjson.iter().find(|r| r["name"] == "ls.pdf").unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let thumb = server
        .data_dir()
        .join(format!("blobs/thumbnails/{pdf_sha}.png"));
    assert!(thumb.exists(), "{thumb:?}");
    let png = std::fs::read(&thumb).unwrap();

    let r = download(&server, &format!("/v1/jobs/{id}/results?format=zip")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    assert_eq!(
        r.headers()["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"{id}.zip\"")
    );
    let zip = entries(&r.bytes().await.unwrap());
    let names: Vec<&String> = zip.keys().collect();
    names.iter().for_each(|n| assert_safe(n));
    assert!(
        !names.iter().any(|n| n.starts_with("files/")),
        "no originals unless asked: {names:?}"
    );
    let rows = manifest(std::str::from_utf8(&zip["manifest.csv"]).unwrap());
    assert_eq!(rows.len(), files.len());
    let mut texts = HashSet::new();
    for row in &rows {
        let item = ndjson
            .iter()
            .find(|r| {
                r["item_id"].is_string()
                    && r["name"] == row["name"].as_str()
                    && r["document_id"].as_str().unwrap_or("") == row["document_id"]
            })
            .expect("row of an item");
        assert_eq!(row["state"], item["state"].as_str().unwrap());
        if row["state"] != "succeeded" {
            assert_eq!(row["text_path"], "");
            continue;
        }
        let doc: Value = server
            .get(&format!("/v1/documents/{}", row["document_id"]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(row["sha256"], doc["sha256"].as_str().unwrap());
        assert_eq!(row["media_type"], doc["media_type"].as_str().unwrap());
        assert_eq!(row["size"], doc["size"].to_string());
        assert_eq!(row["pages"], doc["pages"].to_string());
        let text = &zip[&row["text_path"]];
        assert_eq!(
            std::str::from_utf8(text).unwrap(),
            doc["text"].as_str().unwrap()
        );
        assert!(
            texts.insert(row["text_path"].clone()),
            "text paths are unique"
        );
        let meta: Value = serde_json::from_slice(&zip[&row["metadata_path"]]).unwrap();
        assert_eq!(meta["id"], doc["id"]);
        if row["name"] == "ls.pdf" {
            assert!(zip[&row["thumbnail_path"]].starts_with(b"\x89PNG\r\n\x1a\n"));
            assert_eq!(zip[&row["thumbnail_path"]], png);
        } else {
            assert_eq!(row["thumbnail_path"], "");
        }
    }
    assert_eq!(
        texts.len(),
        files.len() - 1,
        "three notes.txt, three distinct names"
    );
    assert!(zip.contains_key("text/notes.txt.txt") && zip.contains_key("text/notes (2).txt.txt"));
    assert!(zip.contains_key("text/NOTES (3).TXT.txt"), "{names:?}");
    assert!(
        !zip.contains_key("notes.txt"),
        "no notes without a missing blob"
    );

    // With the originals, and the thumbnail gone: skipped with a note, the rest intact.
    std::fs::remove_file(&thumb).unwrap();
    let zip = entries(
        &bytes(
            &server,
            &format!("/v1/jobs/{id}/results?format=zip&include=files"),
        )
        .await,
    );
    let rows = manifest(std::str::from_utf8(&zip["manifest.csv"]).unwrap());
    for row in rows.iter().filter(|r| r["state"] == "succeeded") {
        // (The server keeps an upload's base name: `../../etc/passwd.txt` is `etc/passwd.txt`.)
        let original = files.iter().find(|(_, d)| zip[&row["file_path"]] == *d);
        assert!(
            original.is_some(),
            "files/ holds the original of {}",
            row["name"]
        );
        assert_eq!(row["size"], original.unwrap().1.len().to_string());
        assert!(row["file_path"].starts_with("files/"));
    }
    let pdf_row = rows.iter().find(|r| r["name"] == "ls.pdf").unwrap();
    assert_eq!(pdf_row["thumbnail_path"], "");
    let notes = String::from_utf8(zip["notes.txt"].clone()).unwrap();
    assert!(notes.contains("ls.pdf: thumbnail skipped"), "{notes}");

    // The bag, validated by bagit.py.
    let r = download(
        &server,
        &format!("/v1/jobs/{id}/results?format=bagit&include=files"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("{id}-bagit.zip")));
    let bag = entries(&r.bytes().await.unwrap());
    let root = tmp.path().join("bag");
    for (name, data) in &bag {
        assert_safe(name);
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    let info = String::from_utf8(bag[&format!("{id}/bag-info.txt")].clone()).unwrap();
    assert!(
        info.contains(&format!("External-Identifier: {id}")),
        "{info}"
    );
    assert!(bag.contains_key(&format!("{id}/data/manifest.csv")));
    validate_bag(&root.join(&id));

    // The CLI writes the bundle to -o, through a temporary file.
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("bundle.zip");
    let run = server
        .docket()
        .args([
            "jobs",
            "results",
            &id,
            "--format",
            "zip",
            "--include",
            "files",
            "-o",
        ])
        .arg(&out)
        .env("DOCKET_SERVER", &server.url)
        .env("DOCKET_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let saved = entries(&std::fs::read(&out).unwrap());
    assert!(saved.contains_key("manifest.csv") && saved.keys().any(|k| k.starts_with("files/")));
    let left: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the bundle is left: {left:?}");
    let run = server
        .docket()
        .args([
            "jobs",
            "results",
            &id,
            "--format",
            "zip",
            "--include",
            "nope",
            "-o",
        ])
        .arg(out_dir.path().join("bad.zip"))
        .env("DOCKET_SERVER", &server.url)
        .env("DOCKET_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(!out_dir.path().join("bad.zip").exists());

    // A storage fault mid-stream (the thumbnail is a symlink loop: opening it fails, it is not
    // missing) breaks the transfer: never a complete-looking archive, and no file from -o.
    std::os::unix::fs::symlink(&thumb, &thumb).unwrap();
    let r = download(&server, &format!("/v1/jobs/{id}/results?format=zip")).await;
    assert_eq!(r.status(), 200, "the response started before the fault");
    assert!(r.bytes().await.is_err(), "the body must break off");
    let broken = out_dir.path().join("broken.zip");
    let run = server
        .docket()
        .args(["jobs", "results", &id, "--format", "zip", "-o"])
        .arg(&broken)
        .env("DOCKET_SERVER", &server.url)
        .env("DOCKET_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(!run.status.success(), "a broken download is an error");
    assert!(!broken.exists());
    let left: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");
}

/// `bagit.py --validate` on the bag: it must be installed (scripts/test.sh does), and pass.
fn validate_bag(dir: &Path) {
    let run = Command::new("bagit.py")
        .arg("--validate")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("bagit.py is not installed ({e}): python3 -m pip install bagit (scripts/test.sh does)")
        });
    assert!(
        run.status.success(),
        "bagit.py --validate failed: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// The names in a bundle's manifest, in order.
async fn bundle_names(server: &Server, id: &str) -> Vec<(String, String)> {
    let zip = entries(&bytes(server, &format!("/v1/jobs/{id}/results?format=zip")).await);
    manifest(std::str::from_utf8(&zip["manifest.csv"]).unwrap())
        .into_iter()
        .map(|r| (r["name"].clone(), r["state"].clone()))
        .collect()
}

async fn bundles_of_running_paused_and_cancelled_jobs_hold_what_finished(backend: Backend) {
    let server = Server::start_on(backend, &[("DOCKET_WORKERS", "1".to_string())]).await;
    let job = server
        .submit_noop(200, 100, json!({"max_workers": 1}))
        .await;
    let id = job["id"].as_str().unwrap().to_string();
    let before = server
        .wait(&id, Duration::from_secs(30), "5 done", |j| {
            j["counts"]["succeeded"].as_i64() >= Some(5)
        })
        .await;
    let running = bundle_names(&server, &id).await;
    let after = server.job(&id).await;
    assert_eq!(after["state"], "running", "still running: {after}");
    let (lo, hi) = (
        before["counts"]["succeeded"].as_i64().unwrap() as usize,
        after["counts"]["succeeded"].as_i64().unwrap() as usize,
    );
    assert!(
        (lo..=hi).contains(&running.len()),
        "{lo} <= {} <= {hi}",
        running.len()
    );
    assert!(running.iter().all(|(_, state)| state == "succeeded"));
    // One worker takes items in order: the bundle holds the first ones, in order.
    let expected: Vec<String> = server
        .results(&id)
        .await
        .iter()
        .take(running.len())
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    let got: Vec<String> = running.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(got, expected);

    let r = server
        .post(&format!("/v1/jobs/{id}/pause"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let paused = server
        .wait(&id, Duration::from_secs(10), "paused", |j| {
            j["state"] == "paused"
        })
        .await;
    let names = bundle_names(&server, &id).await;
    assert_eq!(
        names.len() as i64,
        paused["counts"]["succeeded"].as_i64().unwrap()
    );

    let r = server
        .post(&format!("/v1/jobs/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cancelled = server
        .wait(&id, Duration::from_secs(10), "cancelled", |j| {
            j["state"] == "cancelled"
        })
        .await;
    let names = bundle_names(&server, &id).await;
    assert_eq!(
        names.len(),
        200,
        "every item is finished once the job is cancelled"
    );
    let succeeded = names.iter().filter(|(_, s)| s == "succeeded").count() as i64;
    assert_eq!(
        succeeded,
        cancelled["counts"]["succeeded"].as_i64().unwrap()
    );
    assert_eq!(
        200 - succeeded,
        cancelled["counts"]["cancelled"].as_i64().unwrap()
    );
}

on_both_backends!(
    bundles_hold_the_finished_documents_safely_named,
    bundles_of_running_paused_and_cancelled_jobs_hold_what_finished,
);
