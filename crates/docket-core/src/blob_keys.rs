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
    }
}
