//! The conformance suite every backend must pass. A backend's test file instantiates it with
//! [`conformance_suite!`](crate::conformance_suite) and a function that opens a fresh, empty store.

use std::sync::Arc;

use docket_core::{
    decide, ItemState, ItemTarget, JobKind, JobOptions, JobState, Outcome, PauseReason,
    RetryPolicy, Stage,
};
use serde_json::json;

use crate::prelude::*;
use crate::{ChangeCursor, Claimed, Completion, ItemQuery, JobQuery, NewItem, NewJob, StoreError};

mod categories;
mod checkpoints;
mod claims;
mod completion;
mod deletion;
mod documents;
mod events;
mod export;
mod jobs;
mod listing;
mod queries;
mod remotes;
mod schedules;
mod schema;
mod search;
mod stats;
mod storage;
mod tokens;
mod uploads;
mod webhooks;

pub use categories::*;
pub use checkpoints::*;
pub use claims::*;
pub use completion::*;
pub use deletion::*;
pub use documents::*;
pub use events::*;
pub use export::*;
pub use jobs::*;
pub use listing::*;
pub use queries::*;
pub use remotes::*;
pub use schedules::*;
pub use schema::*;
pub use search::*;
pub use stats::*;
pub use storage::*;
pub use tokens::*;
pub use uploads::*;
pub use webhooks::*;

/// Generates one `#[tokio::test]` per conformance case, each on a fresh store from `$open`.
#[macro_export]
macro_rules! conformance_suite {
    ($open:path) => {
        $crate::conformance_suite!(@cases $open;
            schema_refuses_exactly_the_illegal_transitions,
            items_belong_to_their_job_and_go_with_it,
            claim_complete_keeps_counters_and_one_result_per_item,
            completing_twice_is_idempotent_and_lost_items_are_skipped,
            a_stale_outcome_applies_only_to_its_own_attempt,
            transient_failures_retry_then_permanent_fail,
            consecutive_failures_pause_and_resume_requeues_that_streak,
            pause_waits_for_in_flight_then_resume_continues,
            cancel_keeps_finished_and_cancels_the_rest,
            expired_leases_are_rescued,
            only_started_items_are_current,
            fair_shares_and_max_workers,
            claims_take_only_the_asked_kinds,
            idempotency_key_returns_the_first_job,
            pagination_and_filters,
            deadlines_fail_jobs_and_retention_purges_them,
            illegal_controls_are_refused,
            sources_are_listed_under_a_lease_and_sealed,
            an_empty_source_fails_the_job,
            listings_are_claimed_only_for_the_asked_kinds,
            tokens_are_stored_hashed_and_revocable,
            documents_are_written_once_per_item,
            duplicate_completions_in_one_batch_count_once,
            search_ranks_highlights_filters_and_stays_consistent,
            job_stats_sum_the_counters_by_state,
            item_changes_come_in_commit_order_and_resume_from_a_cursor,
            webhooks_are_due_once_finished_and_record_every_attempt,
            categories_labels_models_and_processed_documents,
            payloads_and_sources_come_back_typed,
            a_deleted_job_vanishes_at_once_and_is_removed_by_a_pass,
            deletions_are_leased_and_failures_retried_later,
            retention_marks_only_jobs_finished_before_the_cutoff,
            checkpoints_are_saved_only_by_the_holder_and_survive_a_takeover,
            export_rows_list_finished_items_with_their_documents,
            a_job_result_is_recorded_only_while_the_job_runs,
            a_down_remote_pauses_its_jobs_and_resumes_only_those_when_back,
            uploads_advance_only_from_their_offset_and_belong_to_their_user,
            an_upload_has_one_writer_at_a_time_and_keeps_its_object_state,
            terminated_and_expired_uploads_are_removable_and_forgotten,
            finished_uploads_are_consumed_once_with_their_job,
            storage_used_follows_uploads_and_deletions,
            schedules_belong_to_their_user_and_keep_their_template,
            a_tick_moves_a_schedule_on_once,
            schedule_runs_keep_the_newest,
        );
    };
    (@cases $open:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $open().await;
                $crate::conformance::$case(store).await;
            }
        )+
    };
}

const W: &str = "worker-a";

const LEASE: i64 = 60_000;

fn new_job(user: &str, n: usize, options: JobOptions) -> NewJob {
    NewJob {
        id: None,
        user: user.into(),
        kind: JobKind::Noop,
        options,
        idempotency_key: None,
        source: None,
        items: (0..n)
            .map(|i| NewItem {
                name: format!("item-{i:05}"),
                payload: docket_core::ItemPayload::Noop {
                    sleep_ms: Some(i as u64),
                },
            })
            .collect(),
    }
}

fn succeed(c: &Claimed) -> Completion {
    Completion {
        item_id: c.item_id,
        job_id: c.job_id.clone(),
        attempt: c.attempts,
        target: ItemTarget::Succeeded {
            output: json!({"item": c.name}),
        },
    }
}

fn fail(c: &Claimed, transient: bool, now: i64) -> Completion {
    Completion {
        item_id: c.item_id,
        job_id: c.job_id.clone(),
        attempt: c.attempts,
        target: decide(
            Outcome::Failed {
                message: format!("boom {}", c.name),
                transient,
            },
            c.attempts,
            c.max_retries,
            &RetryPolicy {
                base_ms: 100,
                factor: 2.0,
                cap_ms: 1_000,
            },
            now,
        ),
    }
}

async fn job(store: &Arc<dyn Store>, id: &str) -> docket_core::Job {
    store.get_job(id, 0).await.unwrap().expect("job exists")
}
