//! `trainer`: retrains stale `auto` classifier models. Several processes may run it: the store
//! keeps only the newest model.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_service::{Pace, Periodic, ServiceError};
use docket_store::Store;

use crate::train_due;

pub struct Trainer {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl Periodic for Trainer {
    fn name(&self) -> &'static str {
        "trainer"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(2)
    }

    async fn tick(&self) -> Result<Pace, ServiceError> {
        train_due(&self.store)
            .await
            .map_err(|e| ServiceError::of("training the auto classifier", e))?;
        Ok(Pace::Idle)
    }
}
