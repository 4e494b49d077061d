//! Hostile documents and misbehaving parsers through the process pool: each fails its own
//! document with a clear message, and the pool goes on extracting good files afterwards.

mod real;

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use docket_extract::pool::{ExtractorPool, PoolConfig, Request, Source};
use docket_extract::{ExtractError, Extraction, Options, Progress};
use rand::{rngs::StdRng, RngCore, SeedableRng};
use zip::write::SimpleFileOptions;

fn pool(program: &str, timeout: Duration, memory_limit_mib: u64) -> ExtractorPool {
    let mut config = PoolConfig::new(program, Vec::new());
    config.size = 2;
    config.timeout = timeout;
    config.memory_limit_mib = Some(memory_limit_mib);
    ExtractorPool::new(config)
}

fn good_pool() -> ExtractorPool {
    pool(
        env!("CARGO_BIN_EXE_docket-extractor"),
        Duration::from_secs(120),
        2048,
    )
}

async fn run(pool: &ExtractorPool, bytes: Vec<u8>, name: &str) -> Result<Extraction, ExtractError> {
    let request = Request {
        source: Source::Bytes(bytes),
        name: name.to_owned(),
        options: Options::default(),
    };
    pool.extract(request, |_| {}).await
}

/// The pool still works: a real PDF extracts.
async fn assert_still_works(pool: &ExtractorPool) {
    let pdf = real::man_pdf("grep").expect("grep man page");
    let e = run(pool, std::fs::read(pdf).expect("read"), "grep.pdf")
        .await
        .unwrap_or_else(|e| panic!("the pool should recover, got: {e}"));
    assert!(e.extracted.text.contains("print lines that match patterns"));
}

#[tokio::test]
async fn good_pdf_by_path_with_progress_and_thumbnail() {
    let pool = good_pool();
    let pdf = real::man_pdf("dpkg").expect("dpkg man page");
    let mut reports = Vec::new();
    let request = Request {
        source: Source::Path(pdf),
        name: "dpkg.pdf".to_owned(),
        options: Options {
            thumbnail: true,
            ..Options::default()
        },
    };
    let e = pool
        .extract(request, |p| reports.push(p))
        .await
        .expect("extracts");
    assert_eq!(e.extracted.pages, 15);
    assert_eq!(
        reports.last(),
        Some(&Progress {
            page: 15,
            pages: 15
        })
    );
    assert_eq!(reports.len(), 15);
    assert!(e.thumbnail.is_some_and(|t| t.starts_with(b"\x89PNG")));
}

#[tokio::test]
async fn hostile_files_fail_their_item_and_the_pool_goes_on() {
    let pool = good_pool();
    let pdf = std::fs::read(real::man_pdf("grep").expect("grep")).expect("read");
    let mut random = vec![0u8; 64 * 1024];
    StdRng::seed_from_u64(7).fill_bytes(&mut random);

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.pdf", Vec::new(), "empty file"),
        ("cut.pdf", pdf[..pdf.len() / 3].to_vec(), "corrupt PDF"),
        (
            "random.pdf",
            random,
            "unsupported file type: application/octet-stream",
        ),
        ("bomb.docx", zip_bomb(), "zip bomb"),
        ("nested.pdf", nested_arrays_pdf(1_000_000), "PDF"),
        (
            "huge.png",
            png_claiming(100_000, 100_000),
            "100000 × 100000 pixels",
        ),
    ];
    for (name, bytes, expected) in cases {
        let started = Instant::now();
        let result = run(&pool, bytes, name).await;
        println!(
            "{name}: {:?} in {:?}",
            result.as_ref().map(|e| e.extracted.pages),
            started.elapsed()
        );
        match result {
            Err(e) => assert!(e.to_string().contains(expected), "{name}: {e}"),
            // A truncated PDF whose pages poppler can still reconstruct is a success, not a
            // failure: what matters is that it is not a crash.
            Ok(e) if name == "cut.pdf" => assert!(e.extracted.pages > 0),
            Ok(e) => panic!("{name} should fail, extracted {} pages", e.extracted.pages),
        }
        assert_still_works(&pool).await;
    }

    // A mislabelled file is judged by its content.
    let e = run(&pool, pdf, "report.docx")
        .await
        .expect("a PDF named .docx");
    assert_eq!(e.extracted.media_type, docket_extract::media::PDF);
}

#[tokio::test]
async fn hung_crashed_and_bloated_children_are_killed_and_replaced() {
    let pool = pool(
        env!("CARGO_BIN_EXE_docket-extractor-faulty"),
        Duration::from_secs(3),
        512,
    );
    let started = Instant::now();
    let err = run(&pool, b"x".to_vec(), "hang").await.unwrap_err();
    assert_eq!(err, ExtractError::Timeout { seconds: 3 });
    assert_eq!(err.to_string(), "the parser was stopped after 3 s");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert_still_works(&pool).await;

    let err = run(&pool, b"x".to_vec(), "crash").await.unwrap_err();
    assert_eq!(err.to_string(), "the parser crashed (signal 11)");
    assert_still_works(&pool).await;

    let err = run(&pool, b"x".to_vec(), "oom").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the parser ran out of memory (limit 512 MB)"
    );
    assert_still_works(&pool).await;
}

#[tokio::test]
async fn documents_run_in_parallel_up_to_the_pool_size() {
    let pool = good_pool();
    let pdf = std::fs::read(real::man_pdf("bash").expect("bash")).expect("read");
    let jobs: Vec<_> = (0..4)
        .map(|i| {
            let pool = pool.clone();
            let pdf = pdf.clone();
            tokio::spawn(async move { run(&pool, pdf, &format!("bash{i}.pdf")).await })
        })
        .collect();
    for job in jobs {
        let e = job.await.expect("join").expect("extract");
        assert_eq!(e.extracted.pages, 87);
    }
}

/// A DOCX whose body inflates to 300 MiB.
fn zip_bomb() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
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

/// A PNG whose header claims `w` × `h` 8-bit RGB pixels, with a token of image data.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = !0u32;
        for &b in &out[start..] {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        out.extend_from_slice(&(!crc).to_be_bytes());
    }
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
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
