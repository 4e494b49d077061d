//! Backend-independent planning: how a claim is shared between jobs, and how a batch of
//! completions turns into item updates and job bookkeeping. Backends only run the SQL.

use std::collections::{HashMap, HashSet};

use docket_core::{AttemptError, ItemState, ItemTarget, JobBook, Millis, Stage};

use crate::{CompleteReport, Completion};

/// One candidate job of a claim.
pub(crate) struct ClaimCandidate {
    /// Items the job may still start now: its `max_workers` minus what runs, if it has one.
    pub headroom: i64,
    /// Items waiting to run (pending or retrying).
    pub waiting: i64,
}

/// Shares `limit` slots between candidates, least recently served first, so that a huge job
/// does not starve a small one: each round gives every job with headroom an equal slice.
pub(crate) fn fair_shares(candidates: &[ClaimCandidate], limit: usize) -> Vec<usize> {
    let mut shares = vec![0usize; candidates.len()];
    let cap: Vec<usize> = candidates
        .iter()
        .map(|c| c.headroom.min(c.waiting).max(0) as usize)
        .collect();
    let mut remaining = limit;
    loop {
        let open: Vec<usize> = (0..candidates.len())
            .filter(|&i| shares[i] < cap[i])
            .collect();
        if remaining == 0 || open.is_empty() {
            break;
        }
        let slice = remaining.div_ceil(open.len()).max(1);
        for i in open {
            let give = slice.min(cap[i] - shares[i]).min(remaining);
            shares[i] += give;
            remaining -= give;
            if remaining == 0 {
                break;
            }
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
        ClaimCandidate { headroom, waiting }
    }

    #[test]
    fn small_jobs_get_their_share() {
        // The small job gets everything it can take; the big one the rest.
        assert_eq!(
            fair_shares(&[c(i64::MAX, 1_000_000), c(i64::MAX, 10)], 100),
            vec![90, 10]
        );
        assert_eq!(
            fair_shares(&[c(i64::MAX, 1_000), c(i64::MAX, 1_000)], 100),
            vec![50, 50]
        );
    }

    #[test]
    fn headroom_caps_a_job() {
        assert_eq!(fair_shares(&[c(2, 100), c(i64::MAX, 100)], 10), vec![2, 8]);
        assert_eq!(fair_shares(&[c(0, 100)], 10), vec![0]);
        assert_eq!(fair_shares(&[], 10), Vec::<usize>::new());
    }
}
