use serde::{Deserialize, Serialize};

use crate::{Millis, RetryPolicy, Stage};

/// What a handler (or the engine on its behalf) says about one attempt of an item.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded {
        output: serde_json::Value,
    },
    Failed {
        message: String,
        transient: bool,
    },
    /// Stopped at a stage boundary because the job is pausing; it goes back in line and
    /// continues from `checkpoint` later. The attempt does not count.
    Interrupted {
        stage: Stage,
        progress: f64,
        checkpoint: Option<serde_json::Value>,
    },
    /// Interrupted because its job was cancelled or failed.
    Cancelled,
}

/// Whether a succeeded item's `output` says its results were reused from an earlier identical
/// file (a handler that deduplicates puts the earlier document's id in `reused_from`).
pub fn output_reused(output: &serde_json::Value) -> bool {
    output
        .get("reused_from")
        .is_some_and(|from| !from.is_null())
}

/// The error of one failed attempt, kept for every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptError {
    pub attempt: u32,
    #[serde(with = "crate::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Millis,
    pub message: String,
    pub transient: bool,
}

/// Where an item goes after an attempt: decided here, applied by a storage backend.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemTarget {
    Succeeded {
        output: serde_json::Value,
    },
    Retrying {
        next_attempt_at: Millis,
        error: AttemptError,
    },
    Failed {
        error: AttemptError,
        /// The stage the last attempt failed in, when the worker knows it (the engine fills it
        /// in; a rescued item keeps the stage its heartbeats last wrote).
        stage: Option<Stage>,
    },
    Pending {
        stage: Stage,
        progress: f64,
        checkpoint: Option<serde_json::Value>,
        error: Option<AttemptError>,
        refund_attempt: bool,
    },
    Cancelled,
}

/// Decides the next state of an item after attempt number `attempts` (1-based) ended with
/// `outcome`. Only transient errors are retried, up to `max_retries` times.
pub fn decide(
    outcome: Outcome,
    attempts: u32,
    max_retries: u32,
    policy: &RetryPolicy,
    now: Millis,
) -> ItemTarget {
    match outcome {
        Outcome::Succeeded { output } => ItemTarget::Succeeded { output },
        Outcome::Cancelled => ItemTarget::Cancelled,
        Outcome::Interrupted {
            stage,
            progress,
            checkpoint,
        } => ItemTarget::Pending {
            stage,
            progress,
            checkpoint,
            error: None,
            refund_attempt: true,
        },
        Outcome::Failed { message, transient } => {
            let error = AttemptError {
                attempt: attempts,
                at: now,
                message,
                transient,
            };
            let retries_used = attempts.saturating_sub(1);
            if transient && retries_used < max_retries {
                let delay = policy.delay_ms(retries_used + 1);
                ItemTarget::Retrying {
                    next_attempt_at: now + delay,
                    error,
                }
            } else {
                ItemTarget::Failed { error, stage: None }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(transient: bool) -> Outcome {
        Outcome::Failed {
            message: "boom".into(),
            transient,
        }
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        let t = decide(fail(false), 1, 3, &RetryPolicy::default(), 0);
        assert!(matches!(t, ItemTarget::Failed { .. }));
    }

    #[test]
    fn transient_errors_retry_until_budget_is_spent() {
        let p = RetryPolicy::default();
        for attempt in 1..=3 {
            match decide(fail(true), attempt, 3, &p, 1_000) {
                ItemTarget::Retrying {
                    next_attempt_at,
                    error,
                } => {
                    assert!(next_attempt_at > 1_000);
                    assert_eq!(error.attempt, attempt);
                }
                other => panic!("attempt {attempt}: {other:?}"),
            }
        }
        assert!(matches!(
            decide(fail(true), 4, 3, &p, 0),
            ItemTarget::Failed { .. }
        ));
        assert!(matches!(
            decide(fail(true), 1, 0, &p, 0),
            ItemTarget::Failed { .. }
        ));
    }
}
