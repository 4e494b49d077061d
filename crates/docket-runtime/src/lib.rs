//! One composition of a Docket process, used by both `docket serve` and `docket worker` so the
//! two cannot drift: the engine with every handler and lister this build has, and the
//! supervisor with every background service. No HTTP: `serve` puts its API beside this.

mod compose;
mod error;

pub use compose::{compose, Runtime, RuntimeConfig, SubmitRules};
pub use error::RuntimeError;
