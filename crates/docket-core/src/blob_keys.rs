//! Every key Docket stores blobs under. Nothing else formats one: a key written by one crate
//! and read or deleted by another must agree to the character.

/// The prefix holding every upload of one job; deleted with the job.
pub fn upload_prefix(job_id: &str) -> String {
    format!("uploads/{job_id}/")
}

/// The `index`-th (0-based) file uploaded with a job.
pub fn upload(job_id: &str, index: usize) -> String {
    format!("uploads/{job_id}/{index:06}")
}

/// The pack of a job's small uploaded files: one blob, each file a range of it
/// ([`crate::ItemPayload::PackedUpload`]).
pub fn upload_pack(job_id: &str) -> String {
    format!("uploads/{job_id}/pack")
}

/// The bytes of a resumable (tus) upload, written in place as they arrive. Outside every job's
/// prefix: the upload outlives its PATCH requests and is removed by the upload cleaner once it
/// expires or the job that consumed it is gone.
pub fn resumable_upload(upload_id: &str) -> String {
    format!("resumable/{upload_id}/data")
}

/// Everything stored for one resumable upload (its data, or its parts on object storage).
pub fn resumable_upload_prefix(upload_id: &str) -> String {
    format!("resumable/{upload_id}/")
}

/// What a `process` item saved of its work (see its checkpoint): under the job's uploads, so
/// deleting the job deletes it too.
fn checkpoint_prefix(job_id: &str, item_id: i64) -> String {
    format!("uploads/{job_id}/checkpoints/{item_id}")
}

/// The OCR'd text of page `index` (0-based) of an item's document.
pub fn checkpoint_page(job_id: &str, item_id: i64, index: u32) -> String {
    format!("{}/ocr/{index:05}", checkpoint_prefix(job_id, item_id))
}

/// The extracted text of an item's document.
pub fn checkpoint_text(job_id: &str, item_id: i64) -> String {
    format!("{}/text", checkpoint_prefix(job_id, item_id))
}

/// The CSV (`ext` = `csv`) or ZIP (`zip`) of the AMI set a `publish` item builds: under the
/// publish job's uploads, so they go with the job.
pub fn publish_bundle(job_id: &str, item_id: i64, ext: &str) -> String {
    format!("uploads/{job_id}/publish/{item_id}.{ext}")
}

/// The original of a document: content-addressed, so a file uploaded twice is stored once,
/// and outside the job's uploads so it outlives the job's retention.
pub fn file(sha256: &str) -> String {
    format!("files/{sha256}")
}

/// The thumbnail (PNG of the first page) of a document with this content.
pub fn thumbnail(sha256: &str) -> String {
    format!("thumbnails/{sha256}.png")
}

#[cfg(test)]
mod tests {
    #[test]
    fn uploads_of_a_job_lie_under_its_prefix_and_only_its() {
        let key = super::upload("j1", 7);
        assert_eq!(key, "uploads/j1/000007");
        assert!(key.starts_with(&super::upload_prefix("j1")));
        assert!(!super::upload("j10", 0).starts_with(&super::upload_prefix("j1")));
        assert_eq!(super::thumbnail("ab"), "thumbnails/ab.png");
        assert_eq!(super::file("ab"), "files/ab");
        assert!(
            super::resumable_upload("upl_1").starts_with(&super::resumable_upload_prefix("upl_1"))
        );
        assert!(!super::resumable_upload("upl_1").starts_with(&super::upload_prefix("upl_1")));
        let page = super::checkpoint_page("j1", 3, 2);
        assert_eq!(page, "uploads/j1/checkpoints/3/ocr/00002");
        assert!(page.starts_with(&super::upload_prefix("j1")));
        assert!(super::checkpoint_text("j1", 3).starts_with(&super::upload_prefix("j1")));
        let zip = super::publish_bundle("j1", 4, "zip");
        assert_eq!(zip, "uploads/j1/publish/4.zip");
        assert!(zip.starts_with(&super::upload_prefix("j1")));
    }
}
