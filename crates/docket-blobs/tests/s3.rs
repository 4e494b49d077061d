//! The S3 path (`s3://bucket/prefix`) against a real S3-compatible server on loopback: moto's
//! `moto_server`, from PyPI (`python3 -m pip install 'moto[server]'`; scripts/test.sh installs
//! it). Each test starts its own server on a free port and kills it when done. If the server
//! cannot be started the test fails, naming the install command: it never skips.

use bytes::Bytes;
use docket_blobs::BlobError;
use futures::stream;
use sha2::{Digest, Sha256};

#[path = "support/moto.rs"]
mod moto;
use moto::Moto;

fn chunks(
    n: usize,
    size: usize,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    stream::iter((0..n).map(move |i| Ok(Bytes::from(vec![(i % 251) as u8; size]))))
}

fn sha256_of_chunks(n: usize, size: usize) -> String {
    let mut h = Sha256::new();
    for i in 0..n {
        h.update(vec![(i % 251) as u8; size]);
    }
    hex::encode(h.finalize())
}

#[tokio::test]
async fn s3_streams_hashes_reads_and_deletes() {
    let moto = Moto::start().await;
    moto.create_bucket("docket-a").await;
    let blobs = moto.blobs("docket-a");
    assert_eq!(blobs.describe(), "s3://docket-a/some/prefix");

    // 20 MiB in 1 MiB chunks: three 8 MiB parts, so a real multipart upload.
    let stored = blobs
        .put_stream("job_1/a.bin", chunks(20, 1 << 20), u64::MAX)
        .await
        .unwrap();
    assert_eq!(stored.key, "job_1/a.bin");
    assert_eq!(stored.size, 20 << 20);
    assert_eq!(stored.sha256, sha256_of_chunks(20, 1 << 20));
    assert_eq!(
        moto.keys("docket-a").await,
        ["some/prefix/job_1/a.bin"],
        "the object lands under the prefix"
    );
    let (status, head, _) = moto
        .http("HEAD", "/docket-a/some/prefix/job_1/a.bin")
        .await
        .unwrap();
    assert_eq!(status, 200, "{head}");
    let etag = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("etag"))
        })
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .unwrap_or_default();
    assert!(etag.ends_with("-3"), "a multipart ETag of 3 parts: {head}");
    assert!(moto.pending_uploads("docket-a").await.is_empty());

    assert_eq!(blobs.size("job_1/a.bin").await.unwrap(), 20 << 20);
    let back = blobs.get("job_1/a.bin").await.unwrap();
    assert_eq!(back.len(), 20 << 20);
    assert_eq!(hex::encode(Sha256::digest(&back)), stored.sha256);

    blobs
        .put("job_1/b.txt", Bytes::from_static(b"hello"))
        .await
        .unwrap();
    blobs
        .put("job_2/c.txt", Bytes::from_static(b"kept"))
        .await
        .unwrap();
    assert_eq!(blobs.delete_prefix("job_1").await.unwrap(), 2);
    assert!(matches!(
        blobs.get("job_1/a.bin").await,
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(
        blobs.size("job_1/b.txt").await,
        Err(BlobError::NotFound(_))
    ));
    assert_eq!(&blobs.get("job_2/c.txt").await.unwrap()[..], b"kept");
    assert_eq!(moto.keys("docket-a").await, ["some/prefix/job_2/c.txt"]);
}

#[tokio::test]
async fn s3_over_the_limit_fails_and_leaves_nothing() {
    let moto = Moto::start().await;
    moto.create_bucket("docket-b").await;
    let blobs = moto.blobs("docket-b");
    // 12 MiB allowed, 20 MiB sent: one 8 MiB part is uploaded before the limit trips, so the
    // abort has a real part to throw away.
    let r = blobs.put_stream("big", chunks(20, 1 << 20), 12 << 20).await;
    assert!(
        matches!(r, Err(BlobError::TooLarge { limit }) if limit == 12 << 20),
        "{r:?}"
    );
    assert!(matches!(
        blobs.get("big").await,
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(
        blobs.size("big").await,
        Err(BlobError::NotFound(_))
    ));
    assert!(moto.keys("docket-b").await.is_empty());
    assert!(
        moto.pending_uploads("docket-b").await.is_empty(),
        "the multipart upload was aborted"
    );
}
