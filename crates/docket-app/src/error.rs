use docket_core::ErrorCode;

/// Why a service refused or failed a request. `Refused` carries the code the caller sees; the
/// rest are faults of the store or the blob store, which the HTTP layer maps itself.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{detail}")]
    Refused { code: ErrorCode, detail: String },
    #[error(transparent)]
    Store(#[from] docket_store::StoreError),
    #[error(transparent)]
    Blobs(#[from] docket_blobs::BlobError),
    /// Writing an export bundle failed (its output went away, or a source stream broke).
    #[error(transparent)]
    Export(#[from] docket_export::ExportError),
}

impl ServiceError {
    pub fn refused(code: ErrorCode, detail: impl Into<String>) -> ServiceError {
        ServiceError::Refused {
            code,
            detail: detail.into(),
        }
    }
}
