//! The engine's named background services, one file each: rescue of expired leases,
//! deadlines, jobs held until `not_before`, retention, deletion and listing. [`crate::Engine::take_services`] hands them to the
//! process's supervisor; an engine whose services were not taken runs them itself.

mod deadline_watcher;
mod deleter;
mod held_releaser;
mod lister;
mod rescuer;
mod retention_cleaner;

use std::collections::HashMap;
use std::sync::Arc;

use docket_core::JobKind;
use docket_service::{Service, Ticking};
use docket_store::prelude::*;
use tokio::sync::Notify;

use crate::{EngineConfig, EngineMetrics, JobCleanup, Lister};

pub use deadline_watcher::DeadlineWatcher;
pub use deleter::Deleter;
pub use held_releaser::HeldReleaser;
pub use lister::ListerService;
pub use rescuer::Rescuer;
pub use retention_cleaner::RetentionCleaner;

/// What the services share with the engine that made them.
pub(crate) struct Duties {
    pub store: Arc<dyn Store>,
    pub config: EngineConfig,
    /// Wakes the engine's dispatcher: rescued or newly listed items are ready to claim.
    pub wake: Arc<Notify>,
    pub metrics: Arc<EngineMetrics>,
    pub cleanup: Option<Arc<dyn JobCleanup>>,
    pub listers: HashMap<JobKind, Arc<dyn Lister>>,
    /// The kinds in `listers`: the only ones this process claims listings of.
    pub lister_kinds: Vec<JobKind>,
}

/// Every service an engine with these duties runs. Retention runs only if it is configured.
pub(crate) fn all(duties: Arc<Duties>) -> Vec<Arc<dyn Service>> {
    let mut services: Vec<Arc<dyn Service>> = vec![
        Arc::new(Ticking(Rescuer(duties.clone()))),
        Arc::new(Ticking(DeadlineWatcher(duties.clone()))),
        Arc::new(Ticking(HeldReleaser(duties.clone()))),
    ];
    if duties.config.retention.is_some() {
        services.push(Arc::new(Ticking(RetentionCleaner(duties.clone()))));
    }
    if duties.cleanup.is_some() {
        services.push(Arc::new(Ticking(Deleter(duties.clone()))));
    }
    services.push(Arc::new(ListerService(duties)));
    services
}
