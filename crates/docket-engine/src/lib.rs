//! The engine: a pool of workers that claim items in batches under leases, run them through
//! [`Handler`]s, and report outcomes back in batches; plus the background duties that keep jobs
//! honest (lease renewal, pause/cancel watching) and its named background services (rescue of
//! dead workers' items, deadlines, retention, listing; see [`services`]). It knows nothing of
//! HTTP.

mod config;
mod engine;
mod error;
mod handler;
mod held;
mod listing;
mod metrics;
pub mod services;
mod tasks;

pub use config::EngineConfig;
pub use engine::{Engine, EngineHandle};
pub use error::EngineError;
pub use handler::{Handler, HandlerError, ItemContext, JobCleanup, NoopHandler};
pub use listing::Lister;
pub use metrics::{EngineMetrics, StageMetrics, STAGE_BUCKETS};
