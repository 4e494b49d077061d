//! `lister`: takes jobs submitted with a source (a folder) under a lease and lists their items
//! (see [`crate::listing`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_service::{Service, ServiceContext, ServiceError};

use super::Duties;

pub struct ListerService(pub(crate) Arc<Duties>);

#[async_trait]
impl Service for ListerService {
    fn name(&self) -> &'static str {
        "lister"
    }

    async fn run(&self, ctx: &ServiceContext) -> Result<(), ServiceError> {
        let d = &self.0;
        let idle = d.config.idle_poll.max(Duration::from_millis(100));
        loop {
            let claimed = crate::listing::claim_next(d)
                .await
                .map_err(|e| ServiceError::of("claiming a listing", e))?;
            let listed = claimed.is_some();
            if let Some(listing) = claimed {
                crate::listing::run_listing(d, listing, &ctx.shutdown).await;
            }
            ctx.ran();
            // Another listing may be waiting right behind the one just done.
            if listed && !ctx.shutdown.is_cancelled() {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = ctx.shutdown.cancelled() => return Ok(()),
            }
        }
    }
}
