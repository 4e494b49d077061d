//! A scanned PDF through the pool, page by page: each OCR'd page reaches the caller before the
//! next one starts, the caller can stop between pages, and pages it already has are not OCR'd
//! again.

mod real;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use docket_extract::pool::{ocr_pages_total, ExtractorPool, PageSink, PoolConfig, Request, Source};
use docket_extract::{ExtractError, Options};

/// Keeps every page it is given; says stop once it has `stop_after` of them.
struct Collect {
    pages: BTreeMap<u32, String>,
    stop_after: usize,
}

#[async_trait]
impl PageSink for Collect {
    async fn page_done(&mut self, index: u32, text: String) -> bool {
        assert!(
            self.pages.insert(index, text).is_none(),
            "page {index} twice"
        );
        self.pages.len() < self.stop_after
    }
}

fn request(pdf: &std::path::Path, known_pages: BTreeMap<u32, String>) -> Request {
    Request {
        source: Source::Path(pdf.to_owned()),
        name: "scan.pdf".to_owned(),
        options: Options {
            known_pages,
            ..Options::default()
        },
    }
}

#[tokio::test]
async fn stopping_between_pages_and_resuming_ocrs_each_page_once() {
    let mut config = PoolConfig::new(env!("CARGO_BIN_EXE_docket-extractor"), Vec::new());
    config.size = 1;
    config.timeout = Duration::from_secs(120);
    let pool = ExtractorPool::new(config);
    let pdf = real::scanned_pdf(6);
    let before = ocr_pages_total();

    let mut first = Collect {
        pages: BTreeMap::new(),
        stop_after: 2,
    };
    let stopped = pool
        .extract_paged(request(&pdf, BTreeMap::new()), |_| {}, &mut first)
        .await;
    assert_eq!(stopped.err(), Some(ExtractError::Stopped));
    assert_eq!(first.pages.keys().copied().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(ocr_pages_total() - before, 2, "nothing OCR'd past the stop");
    assert!(
        first.pages[&1].contains(real::page_word(2)),
        "{:?}",
        first.pages
    );

    // The same child goes on with the rest, given the two pages it already did.
    let mut rest = Collect {
        pages: BTreeMap::new(),
        stop_after: usize::MAX,
    };
    let done = pool
        .extract_paged(request(&pdf, first.pages.clone()), |_| {}, &mut rest)
        .await
        .expect("extracts");
    assert_eq!(rest.pages.keys().copied().collect::<Vec<_>>(), [2, 3, 4, 5]);
    assert_eq!(
        ocr_pages_total() - before,
        6,
        "each page OCR'd exactly once"
    );
    let pages: Vec<&str> = done.extracted.text.split('\x0c').collect();
    assert_eq!(pages.len(), 6);
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains(real::page_word(i as u32 + 1)), "{page:?}");
    }
    assert_eq!(done.extracted.metadata["ocr_pages"], 6);
}
