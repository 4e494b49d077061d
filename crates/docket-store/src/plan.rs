//! Backend-independent planning: how a claim is shared between jobs, and how a batch of
//! completions turns into item updates and job bookkeeping. Backends only run the SQL.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use docket_core::{AttemptError, ItemState, ItemTarget, JobBook, Millis, Priority, Stage};

use crate::{CompleteReport, Completion};

/// One candidate job of a claim.
pub(crate) struct ClaimCandidate {
    /// Items the job may still start now: its `max_workers` minus what runs, if it has one.
    pub headroom: i64,
    /// Items waiting to run (pending or retrying).
    pub waiting: i64,
    /// The job's place in claim order (`jobs.claim_pass`).
    pub pass: i64,
    pub priority: Priority,
}

impl ClaimCandidate {
    fn cap(&self) -> usize {
        self.headroom.min(self.waiting).max(0) as usize
    }

    /// The job's pass once it has been served `got` items in a claim whose front runner is
    /// at `front`: a job that waited (paused, capped, new) starts from the front, not from
    /// where it stopped, so it cannot take the workers for itself while it catches up.
    pub fn pass_after(&self, front: i64, got: usize) -> i64 {
        self.pass
            .max(front)
            .saturating_add(got as i64 * self.priority.stride())
    }
}

/// The lowest pass among candidates that can take an item now: where every job that joins or
/// comes back starts.
pub(crate) fn claim_front(candidates: &[ClaimCandidate]) -> i64 {
    candidates
        .iter()
        .filter(|c| c.cap() > 0)
        .map(|c| c.pass)
        .min()
        .unwrap_or(0)
}

/// Shares `limit` slots between candidates by stride scheduling: each slot goes to the job
/// with the lowest pass, which then moves back by its priority's stride, so running jobs are
/// served 1 : 2 : 4 by priority, a huge job does not starve a small one, and a low job still
/// moves.
pub(crate) fn fair_shares(candidates: &[ClaimCandidate], limit: usize, front: i64) -> Vec<usize> {
    let mut shares = vec![0usize; candidates.len()];
    let mut line: BinaryHeap<Reverse<(i64, usize)>> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.cap() > 0)
        .map(|(i, c)| Reverse((c.pass.max(front), i)))
        .collect();
    let mut remaining = limit;
    while remaining > 0 {
        let Some(Reverse((pass, i))) = line.pop() else {
            break;
        };
        shares[i] += 1;
        remaining -= 1;
        if shares[i] < candidates[i].cap() {
            line.push(Reverse((
                pass.saturating_add(candidates[i].priority.stride()),
                i,
            )));
        }
    }
    shares
}

pub(crate) struct Succeeded {
    pub item_id: i64,
    pub job_id: String,
    pub output: serde_json::Value,
}

pub(crate) struct Failed {
    pub item_id: i64,
    pub streak: i64,
    /// The stage it failed in, if known (else the stored one stays).
    pub stage: Option<Stage>,
}

pub(crate) struct Retrying {
    pub item_id: i64,
    pub next_attempt_at: Millis,
}

pub(crate) struct Requeued {
    pub item_id: i64,
    pub stage: Stage,
    pub progress: f64,
    pub checkpoint: Option<serde_json::Value>,
    pub refund_attempt: bool,
}

#[derive(Default)]
pub(crate) struct CompletionPlan {
    pub succeeded: Vec<Succeeded>,
    pub failed: Vec<Failed>,
    pub retrying: Vec<Retrying>,
    pub requeued: Vec<Requeued>,
    pub cancelled: Vec<i64>,
    pub errors: Vec<(i64, AttemptError)>,
    pub report: CompleteReport,
}

/// Which attempt each item still running under the completing worker is on.
pub(crate) type Held = HashMap<i64, u32>;

/// Turns completions into a plan, updating `books` (job id → bookkeeping) as it goes. Only
/// outcomes of the attempt an item is still held under (running under this worker) are
/// applied; the rest were lost — including an outcome of an earlier attempt that arrives after
/// the same worker claimed the item again.
pub(crate) fn plan_completions(
    done: Vec<Completion>,
    held: &Held,
    books: &mut HashMap<String, JobBook>,
) -> CompletionPlan {
    let mut plan = CompletionPlan::default();
    let mut applied = HashSet::new();
    for c in done {
        let Some(book) = books.get_mut(&c.job_id) else {
            plan.report.lost += 1;
            continue;
        };
        // Not held (taken over), held under another attempt (a stale outcome), or a repeat
        // within this batch: applying twice would count twice.
        if held.get(&c.item_id) != Some(&c.attempt) || !applied.insert(c.item_id) {
            plan.report.lost += 1;
            continue;
        }
        plan.report.applied += 1;
        // Work of a cancelled or failed job stops; only what already succeeded is kept.
        let target = match c.target {
            ItemTarget::Succeeded { .. } => c.target,
            _ if book.state.is_finished() => ItemTarget::Cancelled,
            other => other,
        };
        match target {
            ItemTarget::Succeeded { output } => {
                book.on_item_left_running(ItemState::Succeeded);
                if docket_core::output_reused(&output) {
                    book.on_item_reused();
                }
                plan.succeeded.push(Succeeded {
                    item_id: c.item_id,
                    job_id: c.job_id,
                    output,
                });
            }
            ItemTarget::Failed { error, stage } => {
                let streak = book
                    .on_item_left_running(ItemState::Failed)
                    .unwrap_or_default();
                plan.failed.push(Failed {
                    item_id: c.item_id,
                    streak,
                    stage,
                });
                plan.errors.push((c.item_id, error));
            }
            ItemTarget::Retrying {
                next_attempt_at,
                error,
            } => {
                book.on_item_left_running(ItemState::Retrying);
                plan.retrying.push(Retrying {
                    item_id: c.item_id,
                    next_attempt_at,
                });
                plan.errors.push((c.item_id, error));
            }
            ItemTarget::Pending {
                stage,
                progress,
                checkpoint,
                error,
                refund_attempt,
            } => {
                book.on_item_left_running(ItemState::Pending);
                plan.requeued.push(Requeued {
                    item_id: c.item_id,
                    stage,
                    progress: if progress.is_finite() {
                        progress.clamp(0.0, 100.0)
                    } else {
                        0.0
                    },
                    checkpoint,
                    refund_attempt,
                });
                if let Some(error) = error {
                    plan.errors.push((c.item_id, error));
                }
            }
            ItemTarget::Cancelled => {
                book.on_item_left_running(ItemState::Cancelled);
                plan.cancelled.push(c.item_id);
            }
        }
    }
    plan
}

/// The message recorded when a worker's lease on an item ran out.
pub(crate) const LEASE_LOST: &str =
    "worker lost: its lease on the item expired (crash, kill or network partition)";

/// What happens to an item whose lease expired: it goes back in line as a failed transient
/// attempt, unless its retry budget is spent.
pub(crate) fn rescue_target(attempts: u32, max_retries: u32, now: Millis) -> ItemTarget {
    let error = AttemptError {
        attempt: attempts,
        at: now,
        message: LEASE_LOST.into(),
        transient: true,
    };
    if attempts > max_retries {
        ItemTarget::Failed { error, stage: None }
    } else {
        ItemTarget::Pending {
            stage: Stage::Queued,
            progress: 0.0,
            checkpoint: None,
            error: Some(error),
            refund_attempt: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(headroom: i64, waiting: i64) -> ClaimCandidate {
        ClaimCandidate {
            headroom,
            waiting,
            pass: 0,
            priority: Priority::Normal,
        }
    }

    fn p(priority: Priority, pass: i64) -> ClaimCandidate {
        ClaimCandidate {
            headroom: i64::MAX,
            waiting: 1_000_000,
            pass,
            priority,
        }
    }

    #[test]
    fn small_jobs_get_their_share() {
        // The small job gets everything it can take; the big one the rest.
        assert_eq!(
            fair_shares(&[c(i64::MAX, 1_000_000), c(i64::MAX, 10)], 100, 0),
            vec![90, 10]
        );
        assert_eq!(
            fair_shares(&[c(i64::MAX, 1_000), c(i64::MAX, 1_000)], 100, 0),
            vec![50, 50]
        );
    }

    #[test]
    fn headroom_caps_a_job() {
        assert_eq!(
            fair_shares(&[c(2, 100), c(i64::MAX, 100)], 10, 0),
            vec![2, 8]
        );
        assert_eq!(fair_shares(&[c(0, 100)], 10, 0), vec![0]);
        assert_eq!(fair_shares(&[], 10, 0), Vec::<usize>::new());
    }

    #[test]
    fn priorities_share_one_two_four() {
        let jobs = [
            p(Priority::Low, 0),
            p(Priority::Normal, 0),
            p(Priority::High, 0),
        ];
        assert_eq!(fair_shares(&jobs, 700, 0), vec![100, 200, 400]);
    }

    #[test]
    fn one_slot_at_a_time_still_shares_by_weight() {
        // Claims of a single item, passes written back after each: the shares over many
        // claims follow the weights too, and the low job is never starved.
        let mut jobs = [
            p(Priority::Low, 0),
            p(Priority::Normal, 0),
            p(Priority::High, 0),
        ];
        let mut served = [0usize; 3];
        for _ in 0..700 {
            let front = claim_front(&jobs);
            let shares = fair_shares(&jobs, 1, front);
            for (i, share) in shares.into_iter().enumerate() {
                if share > 0 {
                    served[i] += share;
                    jobs[i].pass = jobs[i].pass_after(front, share);
                }
            }
        }
        assert_eq!(served, [100, 200, 400]);
    }

    #[test]
    fn a_job_that_waited_starts_from_the_front() {
        // A job whose pass is far behind (new, or back from a pause) does not take every slot
        // until it has caught up: it joins at the front runner's pass.
        let jobs = [p(Priority::Normal, 0), p(Priority::Normal, 10_000)];
        let front = claim_front(&jobs[1..]);
        assert_eq!(fair_shares(&jobs, 10, front), vec![5, 5]);
        assert_eq!(jobs[0].pass_after(front, 5), 10_010);
    }
}
