//! `GET /metrics` in the Prometheus text format: jobs and items by state (from the database,
//! so every process reports the same totals), this process's engine counters and its
//! background services. Aggregates only: no ids, names or users.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use docket_core::{ItemState, Stage};
use docket_engine::STAGE_BUCKETS;
use docket_service::{ServiceStats, ServicesStatus};

use crate::error::ApiResult;
use crate::AppState;

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Jobs and items by state, queue depth and this process's engine counters, in the
/// Prometheus text format. Aggregates only: no ids, names or users.
#[utoipa::path(get, path = "/metrics", tag = "system", operation_id = "metrics", security(()),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String,
            content_type = "text/plain"),
        (status = 500, description = "Reading the totals failed"),
        (status = 503, description = "The database is busy or unreachable"),
    ))]
pub async fn metrics(State(state): State<AppState>) -> ApiResult<Response> {
    let stats = state.store.job_stats().await?;
    let mut out = String::new();
    family(&mut out, "docket_jobs", "gauge", "Stored jobs by state.");
    for job_state in docket_core::JobState::ALL {
        let n = stats
            .iter()
            .find(|(s, _, _)| s == job_state)
            .map_or(0, |(_, n, _)| *n);
        let _ = writeln!(out, "docket_jobs{{state=\"{job_state}\"}} {n}");
    }
    family(
        &mut out,
        "docket_items",
        "gauge",
        "Items of stored jobs by state.",
    );
    for item_state in ItemState::ALL {
        let n: i64 = stats.iter().map(|(_, _, c)| c.get(*item_state)).sum();
        let _ = writeln!(out, "docket_items{{state=\"{item_state}\"}} {n}");
    }
    family(
        &mut out,
        "docket_queue_depth",
        "gauge",
        "Items waiting to run (pending or retrying) in unfinished jobs.",
    );
    let depth: i64 = stats
        .iter()
        .filter(|(s, _, _)| !s.is_finished())
        .map(|(_, _, c)| c.pending + c.retrying)
        .sum();
    let _ = writeln!(out, "docket_queue_depth {depth}");
    family(
        &mut out,
        "docket_ocr_pages_total",
        "counter",
        "Pages this process sent to an OCR engine (in its extractor children).",
    );
    let _ = writeln!(
        out,
        "docket_ocr_pages_total {}",
        docket_extract::pool::ocr_pages_total()
    );
    family(
        &mut out,
        "docket_ocr_provider_pages_total",
        "counter",
        "Pages this process had read, by OCR provider (google_vision: pages sent to it).",
    );
    for provider in docket_core::OcrProvider::ALL {
        let _ = writeln!(
            out,
            "docket_ocr_provider_pages_total{{provider=\"{provider}\"}} {}",
            docket_pipeline::ocr_pages_sent(provider)
        );
    }
    if !state.config.remotes.is_empty() {
        let remotes = docket_app::remote_statuses(&state.store, &state.config.remotes).await?;
        family(
            &mut out,
            "docket_remote_up",
            "gauge",
            "Whether each configured remote is up (1) or marked down (0), as the database holds it.",
        );
        for r in &remotes {
            let kind = match r.kind {
                docket_app::RemoteKind::Ocr => "ocr",
                docket_app::RemoteKind::Publish => "publish",
            };
            let _ = writeln!(
                out,
                "docket_remote_up{{remote=\"{}\",kind=\"{kind}\"}} {}",
                r.name,
                u8::from(r.up)
            );
        }
    }
    if let Some(engine) = &state.metrics {
        family(
            &mut out,
            "docket_engine_items_total",
            "counter",
            "Item attempts ended by this process, by outcome.",
        );
        for (outcome, n) in engine.outcomes() {
            let _ = writeln!(
                out,
                "docket_engine_items_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        let get = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        let stages = [
            Stage::Queued,
            Stage::Loading,
            Stage::Extracting,
            Stage::Classifying,
            Stage::Indexing,
            Stage::Uploading,
            Stage::Creating,
        ];
        family(
            &mut out,
            "docket_stage_items_total",
            "counter",
            "Items through each stage in this process: completed, or failed in that stage.",
        );
        for stage in stages {
            let m = engine.stage(stage);
            let stage = stage.as_str();
            for (outcome, n) in [("completed", &m.completed), ("failed", &m.failed)] {
                let _ = writeln!(
                    out,
                    "docket_stage_items_total{{stage=\"{stage}\",outcome=\"{outcome}\"}} {}",
                    get(n)
                );
            }
        }
        family(
            &mut out,
            "docket_stage_duration_seconds",
            "histogram",
            "How long items took in each stage, in this process.",
        );
        for stage in stages {
            let m = engine.stage(stage);
            let stage = stage.as_str();
            for (bound, bucket) in STAGE_BUCKETS.iter().zip(&m.buckets) {
                let _ = writeln!(
                    out,
                    "docket_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"{bound}\"}} {}",
                    get(bucket)
                );
            }
            let count = get(&m.count);
            let _ = writeln!(
                out,
                "docket_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "docket_stage_duration_seconds_sum{{stage=\"{stage}\"}} {}",
                get(&m.sum_micros) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "docket_stage_duration_seconds_count{{stage=\"{stage}\"}} {count}"
            );
        }
        family(
            &mut out,
            "docket_engine_lease_takeovers_total",
            "counter",
            "Items this process took back after their worker's lease expired.",
        );
        let _ = writeln!(
            out,
            "docket_engine_lease_takeovers_total {}",
            get(&engine.takeovers)
        );
        family(
            &mut out,
            "docket_engine_lost_outcomes_total",
            "counter",
            "Outcomes dropped because another worker had taken the item over.",
        );
        let _ = writeln!(
            out,
            "docket_engine_lost_outcomes_total {}",
            get(&engine.lost)
        );
    }
    service_families(&mut out, &state.services);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

/// Reads one counter of a service.
type Counter = fn(&ServiceStats) -> u64;

/// Per-service families: when each service last completed a round, its rounds, failures and
/// restarts by the supervisor.
fn service_families(out: &mut String, services: &ServicesStatus) {
    if services.is_empty() {
        return;
    }
    family(
        out,
        "docket_service_last_run_timestamp_seconds",
        "gauge",
        "When each background service of this process last completed a round (Unix seconds; 0: not yet).",
    );
    for s in services.iter() {
        let at = s.last_run_ms().map_or(0.0, |ms| ms as f64 / 1e3);
        let _ = writeln!(
            out,
            "docket_service_last_run_timestamp_seconds{{service=\"{}\"}} {at}",
            s.name()
        );
    }
    let counters: [(&str, &str, Counter); 3] = [
        (
            "docket_service_runs_total",
            "Rounds each background service of this process completed.",
            ServiceStats::runs,
        ),
        (
            "docket_service_errors_total",
            "Failures (errors and panics) of each background service of this process.",
            ServiceStats::errors,
        ),
        (
            "docket_service_restarts_total",
            "Times the supervisor restarted each background service after a failure.",
            ServiceStats::restarts,
        ),
    ];
    for (name, help, value) in counters {
        family(out, name, "counter", help);
        for s in services.iter() {
            let _ = writeln!(out, "{name}{{service=\"{}\"}} {}", s.name(), value(s));
        }
    }
}
