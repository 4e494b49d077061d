use bytes::Bytes;
use docket_blobs::{BlobError, Blobs};
use futures::stream;

fn chunks(
    n: usize,
    size: usize,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    stream::iter((0..n).map(move |i| Ok(Bytes::from(vec![(i % 251) as u8; size]))))
}

#[tokio::test]
async fn streams_hashes_reads_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::open(dir.path().to_str().unwrap()).unwrap();
    let stored = blobs
        .put_stream("job_1/a.bin", chunks(20, 1 << 20), u64::MAX)
        .await
        .unwrap();
    assert_eq!(stored.size, 20 << 20);
    assert_eq!(stored.sha256.len(), 64);
    assert_eq!(blobs.size("job_1/a.bin").await.unwrap(), 20 << 20);
    let back = blobs.get("job_1/a.bin").await.unwrap();
    assert_eq!(back.len(), 20 << 20);
    assert_eq!(blobs.delete_prefix("job_1").await.unwrap(), 1);
    assert!(matches!(
        blobs.get("job_1/a.bin").await,
        Err(BlobError::NotFound(_))
    ));
}

#[tokio::test]
async fn over_the_limit_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::open(dir.path().to_str().unwrap()).unwrap();
    let r = blobs.put_stream("big", chunks(10, 1 << 20), 5 << 20).await;
    assert!(matches!(r, Err(BlobError::TooLarge { .. })));
    assert!(matches!(
        blobs.get("big").await,
        Err(BlobError::NotFound(_))
    ));
}
