//! Services that do one round per interval: the shape of most maintenance duties.

use std::time::Duration;

use async_trait::async_trait;

use crate::{Service, ServiceContext, ServiceError, StopAt};

/// What a round found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Done for now: wait the interval.
    Idle,
    /// More is waiting (the round hit its batch size): go again at once.
    Busy,
}

/// A duty done in rounds. The first round runs as soon as the service starts.
#[async_trait]
pub trait Periodic: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// The pause between the end of one round and the start of the next.
    fn interval(&self) -> Duration;

    fn stop_at(&self) -> StopAt {
        StopAt::Shutdown
    }

    /// Whether shutdown may interrupt a round midway. Only for rounds that are safe to drop at
    /// any await (a webhook attempt is held in the store and retried); a round that does two
    /// things that must both happen (delete rows, then their files) must finish.
    fn interruptible(&self) -> bool {
        false
    }

    async fn tick(&self) -> Result<Pace, ServiceError>;
}

/// Runs a [`Periodic`] as a [`Service`]: a failed round ends the run, so the supervisor
/// records the error and starts it again after its backoff.
pub struct Ticking<P>(pub P);

#[async_trait]
impl<P: Periodic> Service for Ticking<P> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn stop_at(&self) -> StopAt {
        self.0.stop_at()
    }

    async fn run(&self, ctx: &ServiceContext) -> Result<(), ServiceError> {
        loop {
            let pace = if self.0.interruptible() {
                tokio::select! {
                    pace = self.0.tick() => pace?,
                    _ = ctx.shutdown.cancelled() => return Ok(()),
                }
            } else {
                self.0.tick().await?
            };
            ctx.ran();
            if pace == Pace::Busy && !ctx.shutdown.is_cancelled() {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.0.interval()) => {}
                _ = ctx.shutdown.cancelled() => return Ok(()),
            }
        }
    }
}
