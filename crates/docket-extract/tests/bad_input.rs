//! Empty, truncated, random, mislabelled and malformed input: always a clear error, never a
//! panic.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{all_fixtures, docx_with_body, fixture, zip_of, CONTENT_TYPES};
use docket_extract::{extract, ExtractError, Limits};
use rand::{rngs::StdRng, Rng, RngCore, SeedableRng};

/// Runs `extract` and turns a panic into a failure report naming the input.
fn extract_without_panic(bytes: &[u8], name: &str, what: &str, panics: &mut Vec<String>) {
    let limits = Limits::default();
    if catch_unwind(AssertUnwindSafe(|| extract(bytes, name, &limits))).is_err() {
        panics.push(format!("{what} ({} bytes, named {name:?})", bytes.len()));
    }
}

#[test]
fn empty_input_is_a_clear_error() {
    for name in ["empty.txt", "empty.docx", ""] {
        let err = extract(&[], name, &Limits::default()).unwrap_err();
        assert_eq!(err, ExtractError::Empty);
        assert_eq!(err.to_string(), "empty file");
    }
}

#[test]
fn random_bytes_are_unsupported() {
    let mut bytes = vec![0u8; 4096];
    StdRng::seed_from_u64(1).fill_bytes(&mut bytes);
    for name in ["random.bin", "random.pdf", "random.txt", "random.docx"] {
        let err = extract(&bytes, name, &Limits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported file type: application/octet-stream"
        );
    }
}

#[test]
fn random_byte_strings_never_panic() {
    // Half start with a real signature so the format-specific parsers get exercised too.
    const PREFIXES: &[&[u8]] = &[
        b"PK\x03\x04",
        b"PK\x05\x06",
        b"%PDF-1.7\n",
        b"<!DOCTYPE html><html><body>",
        b"\xFF\xFE",
        b"\xFE\xFF",
        b"\xEF\xBB\xBF# ",
        b"<?xml version=\"1.0\"?>",
        b"\x89PNG\r\n\x1a\n",
        b"RIFF\0\0\0\0WEBP",
    ];
    const NAMES: &[&str] = &["x.txt", "x.md", "x.html", "x.docx", "x.pdf", "x"];
    let mut rng = StdRng::seed_from_u64(0x00D0_C4E7);
    let mut panics = Vec::new();
    for i in 0..2000 {
        let len = if rng.gen_bool(0.5) {
            rng.gen_range(0..64)
        } else {
            rng.gen_range(0..4096)
        };
        let mut bytes = if rng.gen_bool(0.5) {
            PREFIXES[rng.gen_range(0..PREFIXES.len())].to_vec()
        } else {
            Vec::new()
        };
        let start = bytes.len();
        bytes.resize(start + len, 0);
        rng.fill_bytes(&mut bytes[start..]);
        if rng.gen_bool(0.25) {
            // Mostly-printable noise reaches the text, Markdown and HTML paths.
            const ALPHABET: &[u8] = b" <>/&;#!-*[]()`\nabcdefghijklmnopqrstuvwxyz=\"'";
            for b in &mut bytes[start..] {
                *b = ALPHABET[usize::from(*b) % ALPHABET.len()];
            }
        }
        let name = NAMES[rng.gen_range(0..NAMES.len())];
        extract_without_panic(&bytes, name, &format!("random string #{i}"), &mut panics);
    }
    assert!(panics.is_empty(), "extract panicked on: {panics:#?}");
}

#[test]
fn every_truncated_prefix_of_every_fixture_is_handled() {
    let mut panics = Vec::new();
    for (name, bytes) in all_fixtures() {
        for len in 0..bytes.len() {
            extract_without_panic(
                &bytes[..len],
                &name,
                &format!("{name} cut at {len}"),
                &mut panics,
            );
        }
    }
    assert!(panics.is_empty(), "extract panicked on: {panics:#?}");
}

#[test]
fn randomly_damaged_fixtures_never_panic() {
    let mut rng = StdRng::seed_from_u64(99);
    let mut panics = Vec::new();
    for (name, original) in all_fixtures() {
        for round in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..rng.gen_range(1..=8) {
                let at = rng.gen_range(0..bytes.len());
                bytes[at] = rng.gen();
            }
            extract_without_panic(
                &bytes,
                &name,
                &format!("{name} damage round {round}"),
                &mut panics,
            );
        }
    }
    assert!(panics.is_empty(), "extract panicked on: {panics:#?}");
}

#[test]
fn truncated_docx_is_corrupt() {
    let docx = fixture("report.docx");
    for len in [4, 30, 100, docx.len() / 2, docx.len() - 1] {
        for name in ["report.docx", "upload.bin"] {
            match extract(&docx[..len], name, &Limits::default()) {
                Err(ExtractError::Corrupt(msg)) => assert!(
                    msg.starts_with("corrupt DOCX: ") || msg.starts_with("corrupt ZIP archive: "),
                    "{msg}"
                ),
                other => panic!("cut at {len} as {name}: expected Corrupt, got {other:?}"),
            }
        }
    }
    // Cut after the local header naming word/document.xml: recognisably a DOCX whatever the name.
    let err = extract(&docx[..docx.len() / 2], "upload.bin", &Limits::default()).unwrap_err();
    assert!(err.to_string().starts_with("corrupt DOCX: "), "{err}");
}

#[test]
fn zip_that_is_not_a_docx_is_unsupported() {
    let zip = zip_of(&[
        ("notes.txt", b"hello"),
        ("../../etc/passwd", b"traversal"),
        ("/abs", b"x"),
    ]);
    let err = extract(&zip, "sneaky.docx", &Limits::default()).unwrap_err();
    assert_eq!(err.to_string(), "unsupported file type: application/zip");
}

#[test]
fn docx_with_traversal_entry_names_still_extracts() {
    let document = r#"<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>safe</w:t></w:r></w:p></w:body></w:document>"#;
    let docx = zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("../../../../tmp/evil", b"x"),
        ("C:\\windows\\evil", b"x"),
        ("word/document.xml", document.as_bytes()),
    ]);
    let e = extract(&docx, "x.docx", &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.text, "safe");
}

#[test]
fn malformed_document_xml_is_corrupt() {
    // A comment that never closes: the XML cannot be read to its end.
    let docx = docx_with_body("<w:p><w:r><w:t>text</w:t></w:r></w:p><!-- unterminated");
    match extract(&docx, "x.docx", &Limits::default()) {
        Err(ExtractError::Corrupt(msg)) => {
            assert!(msg.starts_with("corrupt DOCX: word/document.xml"), "{msg}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn damaged_compressed_data_is_corrupt() {
    let body = "<w:p><w:r><w:t>".to_owned() + &"some words ".repeat(500) + "</w:t></w:r></w:p>";
    let mut docx = docx_with_body(&body);
    let at = find(&docx, b"word/document.xml").expect("local header") + 40;
    for b in &mut docx[at..at + 16] {
        *b ^= 0x5A;
    }
    match extract(&docx, "x.docx", &Limits::default()) {
        Err(ExtractError::Corrupt(msg)) => assert!(msg.starts_with("corrupt DOCX: "), "{msg}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn truncated_pdf_and_images_are_corrupt() {
    for (bytes, what) in [
        (&b"%PDF-1.7\n1 0 obj\n"[..], "corrupt PDF: "),
        (&b"\xFF\xD8\xFF\xE0\0\x10JFIF\0"[..], "corrupt JPEG image: "),
        (&b"II*\0\x08\0\0\0\0\0"[..], "corrupt TIFF image: "),
        (&b"\x89PNG\r\n\x1a\n\0\0"[..], "corrupt PNG image: "),
    ] {
        match extract(bytes, "scan.txt", &Limits::default()) {
            Err(ExtractError::Corrupt(msg)) => assert!(msg.starts_with(what), "{msg}"),
            other => panic!("expected Corrupt for {what}, got {other:?}"),
        }
    }
}

#[test]
fn pathologically_nested_html_is_refused_quickly() {
    let html: String = (0..50_000).map(|i| format!("<b id={i}>")).collect();
    let started = std::time::Instant::now();
    let err = extract(html.as_bytes(), "bomb.html", &Limits::default()).unwrap_err();
    assert!(matches!(err, ExtractError::TooLarge(_)), "{err:?}");
    assert!(
        err.to_string().contains("nests elements too deeply"),
        "{err}"
    );
    assert!(
        started.elapsed().as_secs() < 5,
        "took {:?}",
        started.elapsed()
    );
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
