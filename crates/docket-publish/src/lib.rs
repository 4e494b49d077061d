//! Publishing a job's documents to an Archipelago repository (SPEC §6): as digital objects
//! created directly (`objects`), or as one AMI set for a person to process (`ami_set`).
//!
//! Every step is checkpointed and looked up before it is repeated, so after a crash, a pause
//! or a lost connection a publish goes on from the last completed step, and the repository
//! never holds a duplicate set, object or file.

mod ami_set;
mod archipelago;
mod bundle;
mod error;
mod handler;
mod lister;
pub mod metadata;
mod objects;
mod target;

pub use archipelago::{file_ref, Archipelago, Created, FileRef};
pub use error::PublishError;
pub use handler::PublishHandler;
pub use lister::PublishLister;
pub use target::{Target, TargetConfig, Targets};
