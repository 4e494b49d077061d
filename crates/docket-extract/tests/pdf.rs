//! PDF text layers of real documents, against poppler's own `pdftotext`.

mod real;

use docket_extract::{extract_with, media, Options, Progress};
use real::{our_pages, pdftotext_pages, real_pdfs, similarity, word_similarity};

/// Lowest acceptable similarity to `pdftotext`, per document (see `real::similarity`).
const MIN_SIMILARITY: f64 = 0.98;

#[test]
fn text_layer_matches_pdftotext_on_every_real_pdf() {
    let mut failures = Vec::new();
    for pdf in real_pdfs() {
        let bytes = std::fs::read(&pdf).expect("read pdf");
        let mut reports = Vec::new();
        let e = extract_with(&bytes, "doc.pdf", &Options::default(), &mut |p| {
            reports.push(p)
        })
        .unwrap_or_else(|e| panic!("{}: {e}", pdf.display()));
        let reference = pdftotext_pages(&pdf);
        let score = similarity(&reference, &our_pages(&e.extracted.text));
        let words = word_similarity(&reference, &our_pages(&e.extracted.text));
        println!(
            "{:<40} {:>3} pages  similarity {score:.4}  words {words:.4}",
            pdf.file_name().unwrap_or_default().to_string_lossy(),
            e.extracted.pages
        );
        assert_eq!(e.extracted.media_type, media::PDF);
        assert_eq!(
            e.extracted.pages as usize,
            reference.len(),
            "{}",
            pdf.display()
        );
        assert!(
            e.extracted.metadata.get("ocr_pages").is_none(),
            "text layer only"
        );
        // One report per page, in order, ending at the last.
        let pages = e.extracted.pages;
        let expected: Vec<Progress> = (1..=pages).map(|page| Progress { page, pages }).collect();
        assert_eq!(reports, expected);
        if score < MIN_SIMILARITY || words < MIN_SIMILARITY {
            failures.push(format!("{}: {score:.4}, words {words:.4}", pdf.display()));
        }
    }
    assert!(failures.is_empty(), "below {MIN_SIMILARITY}: {failures:?}");
}

#[test]
fn thumbnail_of_the_first_page_fits_256_pixels() {
    let pdf = real::man_pdf("grep").expect("grep man page");
    let bytes = std::fs::read(&pdf).expect("read pdf");
    let options = Options {
        thumbnail: true,
        ..Options::default()
    };
    let e = extract_with(&bytes, "grep.pdf", &options, &mut |_| {}).expect("extract");
    let png = e.thumbnail.expect("a thumbnail");
    let (w, h) = png_size(&png);
    // US letter is 612 × 792 points: portrait, long side exactly 256.
    assert_eq!(h, 256, "{w}×{h}");
    assert!((195..=200).contains(&w), "{w}×{h}");

    let without = extract_with(&bytes, "grep.pdf", &Options::default(), &mut |_| {}).expect("x");
    assert!(without.thumbnail.is_none());
}

#[test]
fn title_comes_from_the_document_info() {
    let pdf = real::man_pdf("find").expect("find man page");
    let bytes = std::fs::read(&pdf).expect("read pdf");
    let e = extract_with(&bytes, "find.pdf", &Options::default(), &mut |_| {}).expect("x");
    // groff leaves the title empty; the key must then be absent rather than "".
    if let Some(title) = e.extracted.metadata.get("title") {
        assert!(!title.as_str().unwrap_or_default().is_empty());
    }
    assert!(e
        .extracted
        .text
        .contains("search for files in a directory hierarchy"));
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (be(16), be(20))
}
