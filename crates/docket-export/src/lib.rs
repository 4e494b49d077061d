//! Export bundles, written as they stream: no HTTP, no SQL, no blob store. Callers feed rows
//! and byte streams; the crate decides names, layout and the archive format.
//!
//! - [`SafeNames`]: unique, safe names inside an archive.
//! - [`ZipStream`]: a streaming ZIP writer (data descriptors, ZIP64 when needed) over any
//!   `tokio::io::AsyncWrite`, run on a blocking thread behind bounded channels.
//! - [`FlatRow`] and [`FLAT_COLUMNS`]: the flat results columns (SPEC §6), as CSV.
//! - [`BundleWriter`]: the export bundle (`manifest.csv`, `text/`, `metadata/`,
//!   `thumbnails/`, `files/`) as a plain ZIP or as a BagIt 1.0 bag ([`bagit`]).

pub mod bagit;
mod bundle;
mod flat;
mod names;
mod zip;

pub use bundle::{Blob, BundleFormat, BundleInfo, BundleItem, BundleSummary, BundleWriter};
pub use flat::{csv_record, FlatRow, FLAT_COLUMNS, MANIFEST_COLUMNS};
pub use names::SafeNames;
pub use zip::{Method, ZipStream};

/// Why writing a bundle failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing the archive: {0}")]
    Io(#[from] std::io::Error),
    #[error("zip: {0}")]
    Zip(#[from] ::zip::result::ZipError),
    /// A byte stream fed to the bundle failed (the caller's source, e.g. the blob store).
    #[error("reading {what}: {message}")]
    Source { what: String, message: String },
    #[error("the archive writer stopped")]
    Stopped,
    #[error("bundle misuse: {0}")]
    Usage(&'static str),
}
