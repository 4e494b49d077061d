//! The `process` pipeline: load a file (an upload in blob storage, or a file under an allowed
//! server folder), extract its text, and store the document. Also the folder lister that
//! turns a `source.path` into items.

mod cleanup;
mod lister;
mod process;

pub use cleanup::UploadCleanup;
pub use lister::FolderLister;
pub use process::{ProcessHandler, ProcessLimits};
