//! Bundles written through a pipe and read back with the `zip` crate: the layout, the
//! manifests and their checksums, Payload-Oxum, skipped blobs, and a broken source.

use std::collections::HashMap;
use std::io::Read;

use bytes::Bytes;
use docket_export::{
    Blob, BundleFormat, BundleInfo, BundleItem, BundleWriter, ExportError, FlatRow,
};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

fn info() -> BundleInfo {
    BundleInfo {
        name: "job_1".into(),
        source_organization: "Docket".into(),
        external_identifier: "job_1".into(),
        bagging_date: "2026-12-04".into(),
        software_agent: "docket-export test".into(),
    }
}

fn blob(data: &'static [u8]) -> Blob {
    Blob {
        size: Some(data.len() as u64),
        stream: futures::stream::iter(data.chunks(3).map(|c| Ok(Bytes::from_static(c)))).boxed(),
    }
}

fn item(name: &str, text: Option<&str>) -> BundleItem {
    BundleItem {
        row: FlatRow {
            name: name.into(),
            state: if text.is_some() {
                "succeeded"
            } else {
                "failed"
            }
            .into(),
            error: text.is_none().then(|| "boom, \"quoted\"".to_string()),
            ..FlatRow::default()
        },
        text: text.map(str::to_string),
        metadata: text.map(|_| serde_json::json!({"name": name})),
        thumbnail: Ok(None),
        file: Ok(None),
    }
}

/// Runs `write` on a bundle over a pipe; returns the archive's entries (or the write's error
/// and the bytes that came out).
async fn bundle<F, Fut>(format: BundleFormat, write: F) -> (Result<u64, ExportError>, Vec<u8>)
where
    F: FnOnce(BundleWriter) -> Fut,
    Fut: std::future::Future<Output = Result<u64, ExportError>>,
{
    let (w, mut r) = tokio::io::duplex(1024);
    let reader = tokio::spawn(async move {
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.map(|_| out)
    });
    let writer = BundleWriter::new(w, format, info()).await.expect("start");
    let outcome = write(writer).await;
    let bytes = reader.await.expect("reader").expect("read");
    (outcome, bytes)
}

fn entries(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    let mut out = HashMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("entry");
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("read entry");
        let name = f.name().expect("entry name").to_string();
        out.insert(name, data);
    }
    out
}

#[tokio::test]
async fn a_zip_bundle_has_the_layout_and_a_manifest() {
    let (outcome, bytes) = bundle(BundleFormat::Zip, |mut b| async move {
        let mut a = item("../a.txt", Some("alpha"));
        a.thumbnail = Ok(Some(blob(b"\x89PNG fake")));
        b.add(a).await?;
        b.add(item("../a.txt", Some("again"))).await?;
        b.add(item("broken.pdf", None)).await?;
        let mut missing = item("scan.png", Some("ocr"));
        missing.thumbnail = Err("no thumbnail was stored".into());
        b.add(missing).await?;
        let summary = b.finish().await?;
        assert_eq!(
            (summary.items, summary.documents, summary.skipped),
            (4, 3, 1)
        );
        Ok(summary.bytes)
    })
    .await;
    let size = outcome.expect("bundle written");
    assert_eq!(size, bytes.len() as u64);
    let e = entries(&bytes);
    assert_eq!(e["text/_a.txt.txt"], b"alpha");
    assert_eq!(e["text/_a (2).txt.txt"], b"again");
    assert_eq!(e["thumbnails/_a.txt.png"], b"\x89PNG fake");
    assert!(!e.contains_key("thumbnails/scan.png.png"));
    let meta: serde_json::Value = serde_json::from_slice(&e["metadata/_a.txt.json"]).unwrap();
    assert_eq!(meta["name"], "../a.txt");
    let manifest = String::from_utf8(e["manifest.csv"].clone()).unwrap();
    let lines: Vec<&str> = manifest.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "name,state,document_id,sha256,media_type,size,pages,category,confidence,matched_by,\
         reused,error,text_path,metadata_path,thumbnail_path,file_path"
    );
    assert_eq!(
        lines[1],
        "../a.txt,succeeded,,,,,,,,,false,,text/_a.txt.txt,metadata/_a.txt.json,thumbnails/_a.txt.png,"
    );
    assert_eq!(
        lines[3],
        "broken.pdf,failed,,,,,,,,,false,\"boom, \"\"quoted\"\"\",,,,"
    );
    assert_eq!(
        lines.len(),
        6,
        "header, 4 rows, and the empty rest: {manifest}"
    );
    let notes = String::from_utf8(e["notes.txt"].clone()).unwrap();
    assert!(notes.contains("scan.png: thumbnail skipped"), "{notes}");
    assert!(!e.keys().any(|k| k.contains("bagit")));
}

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[tokio::test]
async fn a_bag_has_tag_files_checksums_and_payload_oxum() {
    let (outcome, bytes) = bundle(BundleFormat::BagIt, |mut b| async move {
        let mut a = item("100% done.txt", Some("alpha"));
        a.file = Ok(Some(blob(b"original bytes")));
        b.add(a).await?;
        b.add(item("x.txt", None)).await?;
        Ok(b.finish().await?.bytes)
    })
    .await;
    outcome.expect("bag written");
    let e = entries(&bytes);
    assert_eq!(
        e["job_1/bagit.txt"],
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    );
    assert_eq!(e["job_1/data/files/100_ done.txt"], b"original bytes");
    let manifest = String::from_utf8(e["job_1/manifest-sha256.txt"].clone()).unwrap();
    let mut octets = 0;
    let mut streams = 0;
    for line in manifest.lines() {
        let (sum, path) = line.split_once("  ").expect("checksum  path");
        let path = path.replace("%25", "%");
        let data = &e[&format!("job_1/{path}")];
        assert_eq!(sum, sha(data), "{path}");
        octets += data.len();
        streams += 1;
    }
    assert!(
        manifest.contains("  data/text/100_ done.txt.txt\n"),
        "{manifest}"
    );
    assert!(manifest.contains("  data/manifest.csv\n"), "{manifest}");
    let payload: Vec<&String> = e.keys().filter(|k| k.starts_with("job_1/data/")).collect();
    assert_eq!(payload.len(), streams, "every payload file is listed once");
    let info = String::from_utf8(e["job_1/bag-info.txt"].clone()).unwrap();
    assert!(
        info.contains(&format!("Payload-Oxum: {octets}.{streams}\n")),
        "{info}"
    );
    assert!(info.contains("External-Identifier: job_1\n"), "{info}");
    assert!(info.contains("Bagging-Date: 2026-12-04\n"), "{info}");
    let tags = String::from_utf8(e["job_1/tagmanifest-sha256.txt"].clone()).unwrap();
    for tag in ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"] {
        let line = format!("{}  {tag}", sha(&e[&format!("job_1/{tag}")]));
        assert!(tags.lines().any(|l| l == line), "{tag} in {tags}");
    }
}

#[tokio::test]
async fn a_broken_source_leaves_no_valid_archive() {
    let (outcome, bytes) = bundle(BundleFormat::Zip, |mut b| async move {
        b.add(item("a.txt", Some("alpha"))).await?;
        let mut bad = item("b.png", Some("beta"));
        bad.thumbnail = Ok(Some(Blob {
            size: None,
            stream: futures::stream::iter([
                Ok(Bytes::from_static(b"part")),
                Err(ExportError::Source {
                    what: "thumbnails/x.png".into(),
                    message: "connection reset".into(),
                }),
            ])
            .boxed(),
        }));
        b.add(bad).await?;
        Ok(b.finish().await?.bytes)
    })
    .await;
    assert!(
        matches!(outcome, Err(ExportError::Source { .. })),
        "{outcome:?}"
    );
    assert!(
        zip::ZipArchive::new(std::io::Cursor::new(&bytes)).is_err(),
        "a broken bundle must not read as a zip"
    );
}
