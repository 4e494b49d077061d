//! Named background services and the supervisor that runs them.
//!
//! A [`Service`] runs until it is told to stop, or is a [`Periodic`] duty that does one round
//! per interval (wrapped by [`Ticking`]). The [`Supervisor`] starts every service of a process,
//! restarts one that fails (returns an error or panics) after an exponential, capped backoff,
//! and keeps per-service [`ServiceStats`] for `/metrics`. No HTTP and no storage here, so every
//! crate that provides a service (engine, pipeline, webhooks) can depend on it.

mod error;
mod service;
mod stats;
mod supervisor;
mod ticking;

pub use error::ServiceError;
pub use service::{Service, ServiceContext, StopAt};
pub use stats::{ServiceStats, ServicesStatus};
pub use supervisor::{Backoff, Supervisor};
pub use ticking::{Pace, Periodic, Ticking};
