//! The `process` pipeline: load a file (an upload in blob storage, or a file under an allowed
//! server folder), extract its text in a pool of extractor processes, and store the document,
//! its original and its thumbnail. Also the folder lister that turns a `source.path` into items.

mod checkpoint;
mod classification;
mod lister;
mod ocr;
mod process;
mod reindex;
mod trainer;
mod vision;
mod vision_config;

pub use classification::{rule_of, train_due, Classifiers};
pub use docket_extract::host::default_child_limit_mib as default_extractor_memory_mib;
pub use docket_extract::pool::{ExtractorPool, PoolConfig};
pub use lister::FolderLister;
pub use ocr::{ocr_pages_sent, OcrProviders};
pub use process::{ProcessHandler, ProcessLimits};
pub use reindex::{DocumentLister, ReindexHandler};
pub use trainer::Trainer;
pub use vision::{GoogleVision, PageRead, VisionConfig, GOOGLE_VISION, MAX_IMAGES_PER_REQUEST};
pub use vision_config::{VisionSection, API_KEY_VARIABLE};

/// The extractor child's main loop, for the binary's hidden `extractor` command: requests on
/// stdin, answers on stdout, until stdin closes.
pub fn serve_extractor() -> std::io::Result<()> {
    docket_extract::child::serve()
}
