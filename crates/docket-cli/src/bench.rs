//! `docket bench`: measurements of the real engine on the real database, one JSON line each.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use docket_core::{now_millis, JobKind, JobOptions, JobState};
use docket_engine::{Engine, EngineConfig, NoopHandler};
use docket_store::prelude::*;
use docket_store::{NewItem, NewJob};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Opens the named database, or a fresh SQLite file in a temporary directory.
async fn open(
    database: Option<&str>,
) -> anyhow::Result<(Arc<dyn Store>, Option<tempfile::TempDir>)> {
    match database {
        Some(url) => Ok((docket_store::connect(url).await?, None)),
        None => {
            let dir = tempfile::tempdir().context("creating a temporary directory")?;
            let url = format!("sqlite://{}/bench.db", dir.path().display());
            Ok((docket_store::connect(&url).await?, Some(dir)))
        }
    }
}

fn noop_job(n: usize, user: &str) -> NewJob {
    NewJob {
        id: None,
        source: None,
        user: user.into(),
        kind: JobKind::Noop,
        options: JobOptions::default(),
        idempotency_key: None,
        items: (0..n)
            .map(|i| NewItem {
                name: format!("item-{i:08}"),
                payload: docket_core::ItemPayload::Noop { sleep_ms: None },
            })
            .collect(),
    }
}

pub struct EngineBench {
    pub items: usize,
    pub workers: usize,
    pub database: Option<String>,
    pub prefetch: usize,
    pub claim_batch: usize,
}

pub async fn engine(args: EngineBench) -> anyhow::Result<serde_json::Value> {
    let (store, _dir) = open(args.database.as_deref()).await?;
    let job = noop_job(args.items, "bench");
    let started = Instant::now();
    let id = store.create_job(job, now_millis()).await?.job.id;
    let enqueue = started.elapsed();

    let config = EngineConfig {
        workers: args.workers,
        prefetch: args.prefetch,
        claim_batch: args.claim_batch,
        flush_max: args.claim_batch * 2,
        flush_every: Duration::from_millis(5),
        idle_poll: Duration::from_millis(5),
        retention: None,
        ..EngineConfig::default()
    };
    let engine =
        Engine::new(store.clone(), config).with_handler(JobKind::Noop, Arc::new(NoopHandler));
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let run = tokio::spawn(engine.run(shutdown.clone()));
    let job = loop {
        let job = store
            .get_job(&id, now_millis())
            .await?
            .context("bench job vanished")?;
        if job.state.is_finished() {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let work = started.elapsed();
    shutdown.cancel();
    run.await??;
    anyhow::ensure!(
        job.state == JobState::Completed && job.counts.succeeded == args.items as i64,
        "bench job ended {:?} with {:?}",
        job.state,
        job.counts
    );
    Ok(json!({
        "database": store.backend(),
        "items": args.items,
        "workers": args.workers,
        "enqueue_per_s": (args.items as f64 / enqueue.as_secs_f64()).round(),
        "work_per_s": (args.items as f64 / work.as_secs_f64()).round(),
        "prefetch": args.prefetch,
        "claim_batch": args.claim_batch,
    }))
}

/// Reading a job's status must cost the same whatever the job's size.
pub async fn status(
    items: usize,
    reads: usize,
    database: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let (store, _dir) = open(database).await?;
    let small = store
        .create_job(noop_job(10, "bench"), now_millis())
        .await?
        .job
        .id;
    let large = store
        .create_job(noop_job(items, "bench"), now_millis())
        .await?
        .job
        .id;
    // Put a few items of each in flight, as in a running job.
    store
        .claim(
            "bench-status",
            JobKind::ALL,
            8,
            now_millis() + 600_000,
            now_millis(),
        )
        .await?;
    let mut small_total = Duration::ZERO;
    let mut large_total = Duration::ZERO;
    for round in 0..reads + reads / 10 {
        let t = Instant::now();
        store
            .get_job(&small, now_millis())
            .await?
            .context("small job")?;
        let s = t.elapsed();
        let t = Instant::now();
        store
            .get_job(&large, now_millis())
            .await?
            .context("large job")?;
        let l = t.elapsed();
        // The first tenth warms caches and is not counted.
        if round >= reads / 10 {
            small_total += s;
            large_total += l;
        }
    }
    let small_us = small_total.as_secs_f64() * 1e6 / reads as f64;
    let large_us = large_total.as_secs_f64() * 1e6 / reads as f64;
    Ok(json!({
        "database": store.backend(),
        "small_items": 10,
        "large_items": items,
        "reads": reads,
        "small_us": (small_us * 10.0).round() / 10.0,
        "large_us": (large_us * 10.0).round() / 10.0,
        "ratio": (large_us / small_us * 100.0).round() / 100.0,
    }))
}
