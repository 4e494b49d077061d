//! The store's concerns, one trait each; [`Store`](crate::Store) is all of them together.

mod categories;
mod deletion;
mod documents;
mod events;
mod export;
mod jobs;
mod listing;
#[cfg(feature = "testing")]
mod probe;
mod queue;
mod remotes;
mod schedules;
mod stats;
mod storage;
mod tokens;
mod uploads;
mod webhooks;

pub use categories::CategoryStore;
pub use deletion::Deletions;
pub use documents::DocumentStore;
pub use events::EventStore;
pub use export::ExportStore;
pub use jobs::JobStore;
pub use listing::ListingStore;
#[cfg(feature = "testing")]
pub use probe::SchemaProbe;
pub use queue::QueueStore;
pub use remotes::RemoteStore;
pub use schedules::ScheduleStore;
pub use stats::StatsStore;
pub use storage::StorageStore;
pub use tokens::TokenStore;
pub use uploads::UploadStore;
pub use webhooks::WebhookStore;
