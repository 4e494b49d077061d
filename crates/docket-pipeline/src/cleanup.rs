use async_trait::async_trait;
use docket_blobs::Blobs;
use docket_engine::JobCleanup;

/// Deletes a job's uploads (`uploads/{job_id}/…`) when retention deletes the job.
pub struct UploadCleanup(pub Blobs);

#[async_trait]
impl JobCleanup for UploadCleanup {
    async fn job_deleted(&self, job_id: &str) {
        if let Err(e) = self.0.delete_prefix(&format!("uploads/{job_id}")).await {
            tracing::warn!(job = %job_id, error = %e, "deleting a purged job's uploads failed");
        }
    }
}
