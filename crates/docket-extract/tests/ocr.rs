//! OCR with the real tesseract on real scans: man pages rendered at 300 dpi by pdftoppm, as
//! PNG, JPEG, WebP, multi-page TIFF and a PDF with no text layer. The character error rate
//! (CER) against the text poppler reads from the original PDF is printed and bounded.

mod real;

use std::process::Command;
use std::time::Instant;

use docket_extract::{extract_with, media, ExtractError, Extraction, Options, Progress};
use real::{cer, generated, page_text, run, scan};

/// Highest acceptable CER. Tesseract 5 reads clean 300 dpi man pages at about 1%; whitespace
/// is normalised away, so this counts only misread characters and layout-order differences
/// (indented tags beside their paragraphs).
const MAX_CER: f64 = 0.05;

fn ocr(path: &std::path::Path, name: &str, options: &Options) -> (Extraction, Vec<Progress>) {
    let bytes = std::fs::read(path).expect("read scan");
    let mut reports = Vec::new();
    let started = Instant::now();
    let e = extract_with(&bytes, name, options, &mut |p| reports.push(p))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    println!(
        "{name}: {} pages in {:.1} s",
        e.extracted.pages,
        started.elapsed().as_secs_f64()
    );
    (e, reports)
}

fn assert_cer(what: &str, ocr_text: &str, reference: &str) {
    let rate = cer(ocr_text, reference);
    println!(
        "{what}: CER {:.2}% over {} characters",
        rate * 100.0,
        reference.len()
    );
    assert!(
        rate <= MAX_CER,
        "{what}: CER {rate:.4}\n--- OCR:\n{ocr_text}"
    );
}

#[test]
fn png_scan_at_300_dpi() {
    let (e, reports) = ocr(
        &scan("grep", 1, 300, "png"),
        "scan.png",
        &Options::default(),
    );
    assert_eq!(e.extracted.media_type, media::PNG);
    assert_eq!(e.extracted.pages, 1);
    assert_eq!(reports, vec![Progress { page: 1, pages: 1 }]);
    assert_cer(
        "grep p.1 PNG 300 dpi",
        &e.extracted.text,
        &page_text("grep", 1),
    );
}

#[test]
fn jpeg_and_webp_scans() {
    let (e, _) = ocr(
        &scan("tar", 1, 300, "jpeg"),
        "scan.jpg",
        &Options::default(),
    );
    assert_eq!(e.extracted.media_type, media::JPEG);
    assert_cer(
        "tar p.1 JPEG 300 dpi",
        &e.extracted.text,
        &page_text("tar", 1),
    );

    let png = scan("tar", 1, 300, "png");
    let webp = generated("scan-tar-1-300.webp", |out| {
        run(Command::new("cwebp")
            .args(["-quiet", "-q", "90"])
            .arg(&png)
            .arg("-o")
            .arg(out));
    });
    let (e, _) = ocr(&webp, "scan.webp", &Options::default());
    assert_eq!(e.extracted.media_type, media::WEBP);
    assert_cer(
        "tar p.1 WebP 300 dpi",
        &e.extracted.text,
        &page_text("tar", 1),
    );
}

#[test]
fn multi_page_tiff_reports_each_page() {
    let pages = [scan("find", 1, 300, "tiff"), scan("find", 2, 300, "tiff")];
    let tiff = generated("scan-find-1-2.tiff", |out| {
        run(Command::new("tiffcp")
            .args(["-c", "lzw"])
            .args(&pages)
            .arg(out));
    });
    let options = Options {
        thumbnail: true,
        ..Options::default()
    };
    let (e, reports) = ocr(&tiff, "scan.tif", &options);
    assert_eq!(e.extracted.media_type, media::TIFF);
    assert_eq!(e.extracted.pages, 2);
    assert_eq!(e.extracted.metadata["ocr_pages"], 2);
    assert_eq!(
        reports,
        vec![
            Progress { page: 1, pages: 2 },
            Progress { page: 2, pages: 2 }
        ]
    );
    let texts: Vec<&str> = e.extracted.text.split('\x0c').collect();
    assert_eq!(texts.len(), 2);
    for (i, text) in texts.iter().enumerate() {
        let page = i as u32 + 1;
        assert_cer(
            &format!("find p.{page} TIFF"),
            text,
            &page_text("find", page),
        );
    }
    let thumbnail = e.thumbnail.expect("thumbnail");
    assert!(thumbnail.starts_with(b"\x89PNG"));
    let height = u32::from_be_bytes([thumbnail[20], thumbnail[21], thumbnail[22], thumbnail[23]]);
    assert_eq!(height, 256);
}

#[test]
fn pdf_without_a_text_layer_is_rendered_and_read() {
    let pages = [scan("grep", 1, 300, "png"), scan("grep", 2, 300, "png")];
    let pdf = generated("scan-grep-1-2.pdf", |out| {
        run(Command::new("img2pdf").args(&pages).arg("-o").arg(out));
    });
    let (e, reports) = ocr(&pdf, "scan.pdf", &Options::default());
    assert_eq!(e.extracted.media_type, media::PDF);
    assert_eq!(e.extracted.metadata["ocr_pages"], 2);
    assert_eq!(reports.len(), 2);
    let texts: Vec<&str> = e.extracted.text.split('\x0c').collect();
    for (i, text) in texts.iter().enumerate() {
        let page = i as u32 + 1;
        assert_cer(
            &format!("grep p.{page} scanned PDF"),
            text,
            &page_text("grep", page),
        );
    }
}

#[test]
fn header_claiming_ten_billion_pixels_is_refused_before_decoding() {
    let started = Instant::now();
    let err = extract_with(
        &png_claiming(100_000, 100_000),
        "huge.png",
        &Options::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(&err, ExtractError::TooLarge(m) if m.contains("100000 × 100000 pixels")),
        "{err:?}"
    );
    assert!(started.elapsed().as_secs() < 2);
}

#[test]
fn languages_are_checked() {
    let png = std::fs::read(scan("grep", 1, 300, "png")).expect("scan");
    for (languages, expected) in [
        (
            vec!["zzz".to_owned()],
            "OCR language \"zzz\" is not installed on this server",
        ),
        (
            vec!["../../etc/passwd".to_owned()],
            "invalid OCR language \"../../etc/passwd\"",
        ),
    ] {
        let options = Options {
            languages,
            ..Options::default()
        };
        let err = extract_with(&png, "scan.png", &options, &mut |_| {}).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
}

/// A PNG whose header claims `w` × `h` pixels, followed by a few bytes of image data.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
