//! `scheduler`: submits the job of every due tick of every user's schedules. Every process
//! runs one; the database decides which tick runs, so each runs once however many do.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use docket_core::{Cadence, JobTemplate, Millis, Schedule};
use docket_service::{Pace, Periodic, ServiceError as RoundError};
use docket_store::TickOutcome;

use crate::{ServiceError, Submission};

/// The time as the scheduler sees it: the wall clock in a process, the test's in tests.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// Due schedules taken per round; the rest are taken in the next one, at once.
const ROUND: u32 = 100;

pub struct Scheduler {
    submission: Submission,
    clock: Clock,
    interval: Duration,
    /// Called when a tick made a job, so a local engine starts on it at once.
    on_job: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerRound {
    /// Ticks this process moved on (made a job, or recorded why it could not).
    pub ran: usize,
    /// Ticks another process moved on first.
    pub lost: usize,
}

impl Scheduler {
    /// Looks for due ticks every `interval` (a second is plenty for minute-grained cron).
    pub fn new(submission: Submission, clock: Clock, interval: Duration) -> Scheduler {
        Scheduler {
            submission,
            clock,
            interval,
            on_job: None,
        }
    }

    pub fn on_job(mut self, wake: Arc<dyn Fn() + Send + Sync>) -> Scheduler {
        self.on_job = Some(wake);
        self
    }

    /// Runs every tick due now: submits its job, then moves the schedule on to its first tick
    /// after now (a tick missed while nothing ran runs once, the ones between are skipped).
    pub async fn run_due(&self) -> Result<SchedulerRound, ServiceError> {
        let now = (self.clock)();
        let store = self.submission.store();
        let mut round = SchedulerRound::default();
        for schedule in store.due_schedules(now, ROUND).await? {
            if self.run_tick(&schedule, now).await? {
                round.ran += 1;
            } else {
                round.lost += 1;
            }
        }
        Ok(round)
    }

    async fn run_tick(&self, schedule: &Schedule, now: Millis) -> Result<bool, ServiceError> {
        let Some(tick) = schedule.next_run_at else {
            return Ok(false);
        };
        let next = Cadence::parse(&schedule.cron, &schedule.timezone)
            .ok()
            .and_then(|c| c.next_after(now.max(tick)));
        let key = JobTemplate::tick_key(&schedule.id, tick);
        let outcome = match self
            .submission
            .scheduled(&schedule.user, &schedule.job, key)
            .await
        {
            Ok(created) => {
                if created.created {
                    tracing::info!(schedule = %schedule.id, job = %created.job.id, tick, "scheduled job submitted");
                    if let Some(wake) = &self.on_job {
                        wake();
                    }
                }
                TickOutcome::Submitted {
                    job_id: created.job.id,
                }
            }
            // What the schedule asks for cannot be done now (its folder went away, …): the
            // tick is recorded with why, and the schedule goes on.
            Err(ServiceError::Refused { detail, .. }) => {
                tracing::warn!(schedule = %schedule.id, tick, error = %detail, "scheduled job refused");
                TickOutcome::Refused { error: detail }
            }
            // The database or blob store failed: the tick stays due and is tried again.
            Err(other) => return Err(other),
        };
        Ok(self
            .submission
            .store()
            .schedule_ran(&schedule.id, tick, next, outcome, now)
            .await?)
    }
}

#[async_trait]
impl Periodic for Scheduler {
    fn name(&self) -> &'static str {
        "scheduler"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn tick(&self) -> Result<Pace, RoundError> {
        let round = self
            .run_due()
            .await
            .map_err(|e| RoundError::of("running due schedules", e))?;
        Ok(if round.ran + round.lost >= ROUND as usize {
            Pace::Busy
        } else {
            Pace::Idle
        })
    }
}
