//! Schedules: recurring jobs, and the compare-and-set that makes each tick run once however
//! many processes look at it.

use async_trait::async_trait;
use docket_core::{Millis, Schedule};

use crate::*;

#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    async fn create_schedule(&self, new: NewSchedule, now: Millis) -> Result<Schedule, StoreError>;

    /// `user`'s schedule with its latest runs (`None` for another user's or none).
    async fn schedule(&self, id: &str, user: &str) -> Result<Option<Schedule>, StoreError>;

    /// `user`'s schedules in id order (oldest first), after the id `after`, at most `limit`.
    async fn schedules(
        &self,
        user: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Schedule>, StoreError>;

    /// Replaces what `user`'s schedule is and does; `None` if there is no such schedule.
    async fn update_schedule(
        &self,
        id: &str,
        user: &str,
        settings: ScheduleSettings,
        now: Millis,
    ) -> Result<Option<Schedule>, StoreError>;

    /// Deletes `user`'s schedule and its run history (its jobs stay); `false` if none.
    async fn delete_schedule(&self, id: &str, user: &str) -> Result<bool, StoreError>;

    /// Enabled schedules of every user whose next tick is at or before `now`, earliest
    /// first, at most `limit` (without their runs).
    async fn due_schedules(&self, now: Millis, limit: u32) -> Result<Vec<Schedule>, StoreError>;

    /// Records that the tick at `tick` ran with `outcome` and moves the schedule on to
    /// `next_run_at`, if the schedule is still enabled and still at `tick` (a compare-and-set:
    /// `false` when another process, or a change of the schedule, got there first).
    async fn schedule_ran(
        &self,
        id: &str,
        tick: Millis,
        next_run_at: Option<Millis>,
        outcome: TickOutcome,
        now: Millis,
    ) -> Result<bool, StoreError>;
}
