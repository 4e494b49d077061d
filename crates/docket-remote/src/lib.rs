//! One way to call a remote service — a publish target, an OCR provider — that fails well.
//!
//! SPEC §4: connection errors, timeouts, 408, 429 and 5xx are transient (a `Retry-After` is
//! honoured); other 4xx are permanent, and the remote's own error text is kept. A call is
//! retried in place for a short while (a dropped connection, a brief outage) before it
//! reports a transient error, which the engine then retries with its own, longer backoff.
//! Secrets never reach a message: request URLs are dropped from transport errors and
//! credentials live in [`Secret`], which prints as `***`.

mod error;
mod health;
mod pace;
mod remote;
mod retry_after;
mod secret;

pub use error::{RemoteError, RemoteErrorKind};
pub use health::Health;
pub use pace::{Pace, Rate};
pub use remote::{Remote, RemoteConfig, Replay};
pub use retry_after::parse_retry_after;
pub use secret::Secret;
