//! Each supported format, extracted from a real fixture file.

mod common;

use common::{docx_with_body, fixture};
use docket_extract::{extract, media, ExtractError, Extracted, Limits};

fn extract_fixture(name: &str) -> Extracted {
    extract(&fixture(name), name, &Limits::default())
        .unwrap_or_else(|e| panic!("{name} should extract, got: {e}"))
}

#[test]
fn utf8_text_with_crlf() {
    let e = extract_fixture("utf8.txt");
    assert_eq!(e.media_type, media::TEXT);
    assert_eq!(e.metadata["encoding"], "UTF-8");
    assert_eq!(
        e.text,
        "Grüße aus Köln!\nSecond line — with an em dash and 日本語.\n\nLast paragraph.\n"
    );
    assert_eq!(e.pages, 1);
}

#[test]
fn windows_1252_text_is_detected_and_decoded() {
    let e = extract_fixture("cp1252.txt");
    assert_eq!(e.media_type, media::TEXT);
    assert_eq!(e.metadata["encoding"], "windows-1252");
    assert!(e.text.starts_with("Le café naïve\n"), "{}", e.text);
    // Bytes 0x80, 0x92 and 0x96 only mean this in windows-1252, not ISO-8859-1.
    assert!(e.text.contains("4 € – c’est"), "{}", e.text);
}

#[test]
fn utf16le_with_bom() {
    let e = extract_fixture("utf16le.txt");
    assert_eq!(e.media_type, media::TEXT);
    assert_eq!(e.metadata["encoding"], "UTF-16LE");
    assert_eq!(
        e.text,
        "UTF-16 text: Ελληνικά, русский, 中文.\nSecond line.\n"
    );
}

#[test]
fn markdown_is_reduced_to_readable_text() {
    let e = extract_fixture("notes.md");
    assert_eq!(e.media_type, media::MARKDOWN);
    assert_eq!(e.metadata["title"], "Quarterly Notes");
    let expected = "Quarterly Notes\n\n\
        This is the first paragraph, with bold text, inline code and a link to the docs.\n\n\
        Decisions\n\n\
        Ship the extractor\nReview the spec & plan OCR\n\n\
        A quoted remark over two lines.\n\n\
        fn main() {\n    println!(\"kept verbatim\");\n}\n\n\
        Name\tScore\nAlice\t10\n\n\
        An HTML note.\n\n\
        Final line.";
    assert_eq!(e.text, expected);
    for markup in ["*", "`", "](", "##", "<div", "|--"] {
        assert!(
            !e.text.contains(markup),
            "markup {markup:?} left in {:?}",
            e.text
        );
    }
}

#[test]
fn html_gives_text_not_markup() {
    let e = extract_fixture("page.html");
    assert_eq!(e.media_type, media::HTML);
    assert_eq!(e.metadata["title"], "Café & Menu");
    assert_eq!(e.metadata["encoding"], "UTF-8");
    let expected = "Today’s menu\n\n\
        Fish & chips — €12 only. Soup of the day: tomato.\n\n\
        Coffee <hot>\nTea\n\n\
        Line one\nLine two\n\n\
        Mon\tclosed\nTue\topen\n\n\
        Unclosed paragraph\n\n\
        Last ✓ ©";
    assert_eq!(e.text, expected);
    for hidden in [
        "secret",
        "font-family",
        "enable JavaScript",
        "template text",
        "nor me",
        "Café",
    ] {
        assert!(
            !e.text.contains(hidden),
            "{hidden:?} leaked into {:?}",
            e.text
        );
    }
}

#[test]
fn docx_made_by_pandoc() {
    let e = extract_fixture("report.docx");
    assert_eq!(e.media_type, media::DOCX);
    assert_eq!(e.metadata["title"], "Annual Report 2025");
    assert_eq!(e.metadata["author"], "Docket Test Suite");
    assert_eq!(e.pages, 1);
    let expected = "Annual Report 2025\nDocket Test Suite\nIntroduction\n\
        This report was written in Markdown and converted to DOCX by pandoc, so the test suite \
        has a real Word document to read. It mentions café, naïve and ½ to check non-ASCII text.\n\
        Figures\nQuarter\tRevenue\nQ1\t100\nQ2\t120\n\
        A line with a hard break\nafter it, and special characters: <angle> & “quotes”.\n\
        First bullet\nSecond bullet\n\
        Code block line 1\n    indented line 2\n\
        The end.";
    assert_eq!(e.text, expected);
}

#[test]
fn docx_runs_tabs_breaks_and_entities() {
    let body = r#"
        <w:p><w:pPr><w:pStyle w:val="Heading1"/><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>
             <w:r><w:t>Styled</w:t></w:r><w:r><w:t xml:space="preserve"> title</w:t></w:r></w:p>
        <w:p><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t><w:br/><w:t>c &amp; &#x263A; &lt;d&gt;</w:t></w:r></w:p>
        <w:p/>
        <w:p/>
        <w:p><w:r><w:t>after blank</w:t><w:br w:type="page"/><w:t>page two</w:t></w:r></w:p>
        <w:p><w:del><w:r><w:delText>deleted</w:delText></w:r></w:del><w:r><w:instrText>PAGE</w:instrText><w:t>kept</w:t></w:r></w:p>"#;
    let e = extract(&docx_with_body(body), "built.docx", &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        e.text,
        "Styled title\na\tb\nc & ☺ <d>\n\nafter blank\npage two\nkept"
    );
    assert_eq!(e.metadata["title"], "Styled title");
    assert_eq!(e.pages, 2, "one forced page break and no docProps/app.xml");
}

#[test]
fn png_named_txt_is_an_image_and_goes_to_ocr() {
    let bytes = fixture("image.txt");
    assert_eq!(docket_extract::sniff(&bytes, "image.txt"), media::PNG);
    // 2×2 pixels of colour: a valid image with nothing to read.
    let e = extract(&bytes, "image.txt", &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.media_type, media::PNG);
    assert_eq!(e.text, "");
    assert_eq!(e.pages, 1);
}

#[test]
fn text_longer_than_the_limit_fails_instead_of_truncating() {
    let limits = Limits {
        max_text_chars: 10,
        ..Limits::default()
    };
    for name in ["utf8.txt", "notes.md", "page.html", "report.docx"] {
        match extract(&fixture(name), name, &limits) {
            Err(ExtractError::TooLarge(msg)) => {
                assert_eq!(
                    msg,
                    "the extracted text is longer than the limit of 10 characters"
                )
            }
            other => panic!("{name}: expected TooLarge, got {other:?}"),
        }
    }
}

#[test]
fn titles_are_tidied_and_capped() {
    let html = format!("<title>\n  A   {}  </title><p>body", "long ".repeat(400));
    let e =
        extract(html.as_bytes(), "t.html", &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let title = e.metadata["title"].as_str().unwrap_or_default();
    assert!(title.starts_with("A long long"), "{title}");
    assert_eq!(title.chars().count(), 501, "500 characters and an ellipsis");
    assert!(title.ends_with('…'));

    let e = extract(b"# \n\nno title here", "t.md", &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(e.metadata.get("title").is_none(), "{}", e.metadata);
}
