//! The bookkeeping every backend applies inside the transaction that moves items: job
//! counters, consecutive failures, auto-pause, and when a job settles. Keeping it here means
//! SQLite and PostgreSQL cannot drift apart, and reading a job's status never counts items.

use serde::{Deserialize, Serialize};

use crate::{CoreError, ItemState, JobState, PauseReason};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    pub total: i64,
    pub pending: i64,
    pub running: i64,
    pub retrying: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Of the succeeded items, those whose results were reused from an earlier copy of the
    /// same file processed with the same options (deduplication): nothing was extracted again.
    pub reused: i64,
}

impl Counts {
    fn slot(&mut self, state: ItemState) -> &mut i64 {
        match state {
            ItemState::Pending => &mut self.pending,
            ItemState::Running => &mut self.running,
            ItemState::Retrying => &mut self.retrying,
            ItemState::Succeeded => &mut self.succeeded,
            ItemState::Failed => &mut self.failed,
            ItemState::Cancelled => &mut self.cancelled,
        }
    }

    pub fn get(&self, state: ItemState) -> i64 {
        let mut c = *self;
        *c.slot(state)
    }

    pub fn shift(&mut self, from: ItemState, to: ItemState, n: i64) {
        *self.slot(from) -= n;
        *self.slot(to) += n;
    }

    /// Items that still have work ahead of them.
    pub fn unfinished(&self) -> i64 {
        self.pending + self.running + self.retrying
    }

    pub fn finished(&self) -> i64 {
        self.succeeded + self.failed + self.cancelled
    }
}

/// A job's mutable bookkeeping, loaded and locked by a backend, changed here, written back.
#[derive(Debug, Clone, PartialEq)]
pub struct JobBook {
    pub state: JobState,
    pub pause_requested: bool,
    pub pause_reason: Option<PauseReason>,
    pub counts: Counts,
    pub consecutive_failures: u32,
    /// Incremented every time a run of failures is broken; failed items remember the streak
    /// they belong to, so resuming an auto-paused job puts back exactly that run.
    pub failure_streak: i64,
    pub auto_pause_after: u32,
    pub error: Option<String>,
    /// False while the job's items are still being listed from its source: it cannot
    /// complete before the listing is done.
    pub sealed: bool,
}

/// What [`JobBook::settle`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Unchanged,
    Completed,
    Paused,
}

impl JobBook {
    pub fn new(total: i64, auto_pause_after: u32) -> JobBook {
        JobBook {
            state: JobState::Queued,
            pause_requested: false,
            pause_reason: None,
            counts: Counts {
                total,
                pending: total,
                ..Counts::default()
            },
            consecutive_failures: 0,
            failure_streak: 0,
            auto_pause_after,
            error: None,
            sealed: true,
        }
    }

    /// An item succeeded with the stored results of an earlier identical file.
    pub fn on_item_reused(&mut self) {
        self.counts.reused += 1;
    }

    /// Items found by the listing were added.
    pub fn on_items_added(&mut self, n: i64) {
        self.counts.total += n;
        self.counts.pending += n;
    }

    /// Whether workers may start items of this job.
    pub fn is_runnable(&self) -> bool {
        matches!(self.state, JobState::Queued | JobState::Running) && !self.pause_requested
    }

    fn set_state(&mut self, to: JobState) -> Result<(), CoreError> {
        self.state.check_transition(to)?;
        self.state = to;
        Ok(())
    }

    /// Items were claimed: `from_pending` fresh ones and `from_retrying` due retries.
    /// Returns true when this claim started the job.
    pub fn on_claimed(&mut self, from_pending: i64, from_retrying: i64) -> bool {
        self.counts
            .shift(ItemState::Pending, ItemState::Running, from_pending);
        self.counts
            .shift(ItemState::Retrying, ItemState::Running, from_retrying);
        if self.state == JobState::Queued && from_pending + from_retrying > 0 {
            self.state = JobState::Running;
            return true;
        }
        false
    }

    /// A running item moved to `to`. Returns the failure streak a failed item belongs to.
    pub fn on_item_left_running(&mut self, to: ItemState) -> Option<i64> {
        self.counts.shift(ItemState::Running, to, 1);
        match to {
            ItemState::Succeeded => {
                // While an auto-pause drains, the streak that caused it stays open: resume must
                // put back every item of it, including those that fail while draining.
                let draining_auto_pause = self.pause_requested
                    && self.pause_reason == Some(PauseReason::ConsecutiveFailures);
                if self.consecutive_failures > 0 && !draining_auto_pause {
                    self.consecutive_failures = 0;
                    self.failure_streak += 1;
                }
                None
            }
            ItemState::Failed => {
                self.consecutive_failures += 1;
                let threshold_reached =
                    self.auto_pause_after > 0 && self.consecutive_failures >= self.auto_pause_after;
                if threshold_reached && !self.state.is_finished() && !self.pause_requested {
                    self.pause_requested = true;
                    self.pause_reason = Some(PauseReason::ConsecutiveFailures);
                }
                Some(self.failure_streak)
            }
            _ => None,
        }
    }

    /// Moves the job to `completed` when nothing is left to do, or to `paused` when a pause was
    /// requested and nothing is in flight any more.
    pub fn settle(&mut self) -> Settled {
        if self.state.is_finished() {
            return Settled::Unchanged;
        }
        // A paused job completes after it is resumed (paused → completed is not a transition).
        if self.sealed
            && self.counts.unfinished() == 0
            && !matches!(self.state, JobState::Queued | JobState::Paused)
        {
            self.state = JobState::Completed;
            self.pause_requested = false;
            self.pause_reason = None;
            return Settled::Completed;
        }
        if self.pause_requested && self.counts.running == 0 && self.state != JobState::Paused {
            self.state = JobState::Paused;
            self.pause_requested = false;
            return Settled::Paused;
        }
        Settled::Unchanged
    }

    /// A user asks to pause. Queued jobs pause at once; running ones once nothing is in flight.
    pub fn request_pause(&mut self, reason: PauseReason) -> Result<(), CoreError> {
        match self.state {
            JobState::Queued | JobState::Running => {
                if !self.pause_requested {
                    self.pause_requested = true;
                    self.pause_reason = Some(reason);
                } else if reason == PauseReason::User
                    && self.pause_reason == Some(PauseReason::RemoteUnavailable)
                {
                    // The user's pause wins: Docket never resumes a job its user paused.
                    self.pause_reason = Some(reason);
                }
                self.settle();
                Ok(())
            }
            // Paused because a remote is down: the user takes the pause over, so that the
            // remote's return does not resume a job the user wants paused.
            JobState::Paused
                if reason == PauseReason::User
                    && self.pause_reason == Some(PauseReason::RemoteUnavailable) =>
            {
                self.pause_reason = Some(reason);
                Ok(())
            }
            state => Err(CoreError::IllegalControl {
                action: "pause",
                state,
            }),
        }
    }

    /// Resumes a paused job (or withdraws a pause that has not drained yet). Returns the failure
    /// streak whose failed items go back in line when the job had paused on failures.
    pub fn resume(&mut self) -> Result<Option<i64>, CoreError> {
        match self.state {
            JobState::Paused => {
                let requeue = (self.pause_reason == Some(PauseReason::ConsecutiveFailures))
                    .then_some(self.failure_streak);
                self.set_state(JobState::Running)?;
                self.pause_requested = false;
                self.pause_reason = None;
                self.consecutive_failures = 0;
                self.failure_streak += 1;
                if requeue.is_none() {
                    // Everything may have finished while it was paused (a listing sealed).
                    self.settle();
                }
                Ok(requeue)
            }
            JobState::Running | JobState::Queued if self.pause_requested => {
                // Withdrawn before it drained. An auto-pause withdrawn this way still resets the
                // counter and puts its run of failures back in line, as a resume does.
                let requeue = (self.pause_reason == Some(PauseReason::ConsecutiveFailures))
                    .then_some(self.failure_streak);
                if requeue.is_some() {
                    self.consecutive_failures = 0;
                    self.failure_streak += 1;
                }
                self.pause_requested = false;
                self.pause_reason = None;
                Ok(requeue)
            }
            state => Err(CoreError::IllegalControl {
                action: "resume",
                state,
            }),
        }
    }

    /// `n` failed items of the resumed streak were put back in line.
    pub fn on_requeued_failed(&mut self, n: i64) {
        self.counts.shift(ItemState::Failed, ItemState::Pending, n);
    }

    /// Cancels (or fails, for a passed deadline) the job. Items not started become cancelled;
    /// the caller moves `pending` and `retrying` counts with [`JobBook::on_unstarted_cancelled`].
    pub fn finish_early(&mut self, to: JobState, error: Option<String>) -> Result<(), CoreError> {
        let action = if to == JobState::Cancelled {
            "cancel"
        } else {
            "fail"
        };
        if self.state.is_finished() {
            return Err(CoreError::IllegalControl {
                action,
                state: self.state,
            });
        }
        self.set_state(to)?;
        self.pause_requested = false;
        self.pause_reason = None;
        self.error = error;
        Ok(())
    }

    pub fn on_unstarted_cancelled(&mut self) {
        let (p, r) = (self.counts.pending, self.counts.retrying);
        self.counts
            .shift(ItemState::Pending, ItemState::Cancelled, p);
        self.counts
            .shift(ItemState::Retrying, ItemState::Cancelled, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_failures_request_a_pause_that_lands_when_idle() {
        let mut b = JobBook::new(10, 3);
        b.on_claimed(4, 0);
        assert_eq!(b.state, JobState::Running);
        for _ in 0..3 {
            assert_eq!(b.on_item_left_running(ItemState::Failed), Some(0));
        }
        assert!(b.pause_requested);
        assert_eq!(b.settle(), Settled::Unchanged, "one item still running");
        b.on_item_left_running(ItemState::Succeeded);
        assert_eq!(b.settle(), Settled::Paused);
        assert_eq!(b.pause_reason, Some(PauseReason::ConsecutiveFailures));
        // A success while draining does not close the streak that caused the pause.
        assert_eq!(b.resume().unwrap(), Some(0));
    }

    #[test]
    fn success_breaks_the_streak() {
        let mut b = JobBook::new(10, 2);
        b.on_claimed(3, 0);
        b.on_item_left_running(ItemState::Failed);
        b.on_item_left_running(ItemState::Succeeded);
        assert_eq!(b.on_item_left_running(ItemState::Failed), Some(1));
        assert!(!b.pause_requested);
    }

    #[test]
    fn completes_when_nothing_is_left() {
        let mut b = JobBook::new(1, 5);
        b.on_claimed(1, 0);
        b.on_item_left_running(ItemState::Succeeded);
        assert_eq!(b.settle(), Settled::Completed);
        assert!(b.request_pause(PauseReason::User).is_err());
        assert!(b.resume().is_err());
        assert!(b.finish_early(JobState::Cancelled, None).is_err());
    }

    #[test]
    fn a_paused_job_completes_only_after_resume() {
        let mut b = JobBook::new(0, 5);
        b.sealed = false;
        b.on_items_added(1);
        b.on_claimed(1, 0);
        b.on_item_left_running(ItemState::Succeeded);
        b.request_pause(PauseReason::User).unwrap();
        assert_eq!(b.state, JobState::Paused);
        b.sealed = true;
        assert_eq!(
            b.settle(),
            Settled::Unchanged,
            "paused → completed is illegal"
        );
        assert_eq!(b.resume().unwrap(), None);
        assert_eq!(b.state, JobState::Completed);
    }

    #[test]
    fn withdrawing_an_undrained_auto_pause_requeues_the_streak() {
        let mut b = JobBook::new(10, 2);
        b.on_claimed(3, 0);
        b.on_item_left_running(ItemState::Failed);
        b.on_item_left_running(ItemState::Failed);
        assert!(b.pause_requested);
        assert_eq!(b.resume().unwrap(), Some(0));
        assert_eq!(b.consecutive_failures, 0);
        assert!(!b.pause_requested);
    }

    #[test]
    fn a_user_pause_takes_over_a_remote_pause() {
        let mut b = JobBook::new(5, 5);
        b.on_claimed(1, 0);
        b.request_pause(PauseReason::RemoteUnavailable).unwrap();
        b.request_pause(PauseReason::User).unwrap();
        assert_eq!(b.pause_reason, Some(PauseReason::User));
        b.on_item_left_running(ItemState::Succeeded);
        assert_eq!(b.settle(), Settled::Paused);

        let mut b = JobBook::new(5, 5);
        b.request_pause(PauseReason::RemoteUnavailable).unwrap();
        assert_eq!(b.state, JobState::Paused);
        b.request_pause(PauseReason::User).unwrap();
        assert_eq!(b.pause_reason, Some(PauseReason::User));
        // Not the other way round: a remote outage never relabels the user's pause.
        assert!(b.request_pause(PauseReason::RemoteUnavailable).is_err());
        assert_eq!(b.pause_reason, Some(PauseReason::User));
    }

    #[test]
    fn pausing_a_queued_job_is_immediate() {
        let mut b = JobBook::new(5, 5);
        b.request_pause(PauseReason::User).unwrap();
        assert_eq!(b.state, JobState::Paused);
        assert_eq!(b.resume().unwrap(), None);
        assert_eq!(b.state, JobState::Running);
    }
}
