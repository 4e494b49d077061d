//! Zip bombs disguised as DOCX. They are generated here, not committed: 300 MiB of XML body
//! deflates to a few hundred KiB. This file has its own test binary so the counting allocator
//! below sees only these tests.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Cursor, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::CONTENT_TYPES;
use docket_extract::{extract, ExtractError, Extracted, Limits};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests here measure the process-wide allocation peak, so they must not overlap.
static SERIAL: Mutex<()> = Mutex::new(());

const MIB: usize = 1024 * 1024;

/// Runs `extract` and reports how long it took and the most memory it held at once beyond
/// what was allocated before it started.
fn measured(bytes: &[u8], limits: &Limits) -> (Result<Extracted, ExtractError>, Duration, usize) {
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let started = Instant::now();
    let result = extract(bytes, "invoice.docx", limits);
    let elapsed = started.elapsed();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
    (result, elapsed, peak)
}

/// A DOCX whose word/document.xml is `chunk` repeated `repeats` times, streamed into the
/// deflater so the test never holds the inflated body either.
fn bomb(chunk: &[u8], repeats: usize) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("[Content_Types].xml", options)
        .expect("start");
    zip.write_all(CONTENT_TYPES.as_bytes()).expect("write");
    zip.start_file("word/document.xml", options).expect("start");
    for _ in 0..repeats {
        zip.write_all(chunk).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}

/// Rewrites the uncompressed size recorded for word/document.xml, in its local header and in
/// the central directory, as a bomb that lies about its size would.
fn claim_uncompressed_size(zip: &mut [u8], claimed: u32) {
    let name = b"word/document.xml";
    let mut patched = 0;
    for at in 0..zip.len().saturating_sub(46 + name.len()) {
        let (size_at, name_at) = match &zip[at..at + 4] {
            b"PK\x03\x04" => (at + 22, at + 30),
            b"PK\x01\x02" => (at + 24, at + 46),
            _ => continue,
        };
        if &zip[name_at..name_at + name.len()] == name {
            zip[size_at..size_at + 4].copy_from_slice(&claimed.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "expected a local and a central header to patch");
}

#[test]
fn honest_bomb_is_refused_by_its_declared_size() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let zip = bomb(&[0u8; MIB], 300);
    assert!(
        zip.len() < 2 * MIB,
        "the bomb should be small on disk: {} bytes",
        zip.len()
    );

    let (result, elapsed, peak) = measured(&zip, &Limits::default());
    match result {
        Err(ExtractError::TooLarge(msg)) => {
            assert!(msg.contains("looks like a zip bomb"), "{msg}");
            assert!(msg.contains("word/document.xml"), "{msg}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert!(peak < 8 * MIB, "held {} MiB", peak / MIB);
}

#[test]
fn lying_bomb_is_stopped_while_inflating() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Real-looking markup, so neither the XML parser nor the no-markup guard stops it early.
    let mut zip = bomb(
        &b"<w:p><w:r><w:t>bomb</w:t></w:r></w:p>".repeat(28_000),
        300,
    );
    claim_uncompressed_size(&mut zip, 1_000);

    let (result, elapsed, peak) = measured(&zip, &Limits::default());
    match result {
        // The zip reader enforces the declared size itself; our own byte counter is the
        // backstop should it ever stop doing so. Either way nothing near 300 MiB is inflated.
        Err(ExtractError::TooLarge(msg)) => assert!(msg.contains("zip bomb"), "{msg}"),
        Err(ExtractError::Corrupt(msg)) => assert!(msg.contains("declared"), "{msg}"),
        other => panic!("expected an error, got {:?}", other.map(|e| e.text.len())),
    }
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(peak < 64 * MIB, "held {} MiB", peak / MIB);
}

#[test]
fn decompression_limit_is_configurable() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let zip = bomb(&b"<w:p><w:r><w:t>text</w:t></w:r></w:p>".repeat(1000), 200);
    let limits = Limits {
        max_decompressed_bytes: MIB as u64,
        ..Limits::default()
    };
    let (result, _, _) = measured(&zip, &limits);
    assert!(
        matches!(result, Err(ExtractError::TooLarge(_))),
        "{result:?}"
    );
    let (result, _, _) = measured(&zip, &Limits::default());
    assert!(result.is_ok(), "{result:?}");
}
