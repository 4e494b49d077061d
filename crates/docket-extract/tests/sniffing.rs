//! Media types come from content; the name only breaks ties between text flavours.

mod common;

use common::{fixture, zip_of};
use docket_extract::{media, sniff};
use rand::{rngs::StdRng, RngCore, SeedableRng};

#[test]
fn fixtures_sniff_by_content() {
    let cases = [
        ("utf8.txt", media::TEXT),
        ("cp1252.txt", media::TEXT),
        ("utf16le.txt", media::TEXT),
        ("notes.md", media::MARKDOWN),
        ("page.html", media::HTML),
        ("report.docx", media::DOCX),
        ("image.txt", media::PNG),
    ];
    for (name, expected) in cases {
        assert_eq!(sniff(&fixture(name), name), expected, "{name}");
    }
}

#[test]
fn misleading_names_do_not_win() {
    assert_eq!(sniff(&fixture("report.docx"), "report.txt"), media::DOCX);
    assert_eq!(sniff(&fixture("report.docx"), "no-extension"), media::DOCX);
    assert_eq!(sniff(&fixture("page.html"), "page.md"), media::HTML);
    assert_eq!(sniff(&fixture("image.txt"), "image.pdf"), media::PNG);
    // Text content can be Markdown or plain text; only the name can say which.
    assert_eq!(sniff(&fixture("notes.md"), "notes.txt"), media::TEXT);
    assert_eq!(
        sniff(&fixture("utf8.txt"), "utf8.markdown"),
        media::MARKDOWN
    );
}

#[test]
fn random_bytes_named_pdf_are_octet_stream() {
    let mut bytes = vec![0u8; 4096];
    StdRng::seed_from_u64(7).fill_bytes(&mut bytes);
    assert_eq!(sniff(&bytes, "report.pdf"), media::OCTET_STREAM);
}

#[test]
fn magic_numbers() {
    let cases: [(&[u8], &str); 9] = [
        (b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n", media::PDF),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", media::PNG),
        (b"\xFF\xD8\xFF\xE1\0\x16Exif", media::JPEG),
        (b"II*\0\x08\0\0\0", media::TIFF),
        (b"MM\0*\0\0\0\x08", media::TIFF),
        (b"RIFF\x1a\0\0\0WEBPVP8L", media::WEBP),
        (b"GIF87a\x01\0\x01\0", media::GIF),
        (b"\x7FELF\x02\x01\x01\0\0\0\0\0", media::OCTET_STREAM),
        (
            b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            media::ZIP,
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(sniff(bytes, "file.txt"), expected, "{bytes:?}");
    }
}

#[test]
fn zips_are_told_apart_by_their_parts() {
    let plain = zip_of(&[("readme.txt", b"hello")]);
    assert_eq!(sniff(&plain, "archive.docx"), media::ZIP);
    let xlsx = zip_of(&[("xl/workbook.xml", b"<workbook/>")]);
    assert_eq!(sniff(&xlsx, "book.zip"), media::XLSX);
}

#[test]
fn html_is_recognised_after_bom_and_whitespace_in_any_case() {
    for head in [
        "\u{FEFF}\n  <!DocType HTML>",
        "<HTML>",
        "\t<head><title>x",
        "<BODY class=a>",
    ] {
        assert_eq!(sniff(head.as_bytes(), "x.txt"), media::HTML, "{head:?}");
    }
    assert_eq!(sniff(b"<header>not html</header>", "x.txt"), media::TEXT);
}
