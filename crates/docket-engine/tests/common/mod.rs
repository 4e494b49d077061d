//! Engine behaviour cases, run on every backend by the `engine_*` test files.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use docket_core::{JobKind, JobOptions, JobState, PauseReason, RetryPolicy, Stage};
use docket_engine::{Engine, EngineConfig, Handler, HandlerError, ItemContext};
use docket_store::prelude::*;
use docket_store::{ItemQuery, NewItem, NewJob};
use serde_json::json;
use tokio_util::sync::CancellationToken;

mod bookkeeping;
mod checkpoints;
pub use bookkeeping::*;
mod priorities;
pub use checkpoints::*;
pub use priorities::*;

pub fn fast_config() -> EngineConfig {
    EngineConfig {
        workers: 4,
        prefetch: 8,
        claim_batch: 8,
        lease: Duration::from_secs(3),
        heartbeat_every: Duration::from_millis(500),
        idle_poll: Duration::from_millis(20),
        control_every: Duration::from_millis(50),
        rescue_every: Duration::from_millis(250),
        flush_every: Duration::from_millis(5),
        flush_max: 100,
        retry: RetryPolicy {
            base_ms: 100,
            factor: 2.0,
            cap_ms: 1_000,
        },
        retention: None,
        shutdown_grace: Duration::from_secs(5),
        ..EngineConfig::default()
    }
}

pub struct Running {
    pub store: Arc<dyn Store>,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("engine stops within its grace")
            .expect("engine task");
    }
}

pub fn start(store: Arc<dyn Store>, config: EngineConfig, handler: Arc<dyn Handler>) -> Running {
    run_engine(
        Engine::new(store.clone(), config).with_handler(JobKind::Noop, handler),
        store,
    )
}

/// Runs a fully built engine until the returned [`Running`] is stopped.
pub fn run_engine(engine: Engine, store: Arc<dyn Store>) -> Running {
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        engine.run(token).await.expect("engine runs");
    });
    Running {
        store,
        shutdown,
        task,
    }
}

pub async fn submit(store: &Arc<dyn Store>, names: &[String], options: JobOptions) -> String {
    let items = names
        .iter()
        .map(|n| NewItem {
            name: n.clone(),
            payload: docket_core::ItemPayload::Noop { sleep_ms: None },
        })
        .collect();
    let new = NewJob {
        id: None,
        source: None,
        user: "u".into(),
        kind: JobKind::Noop,
        options,
        idempotency_key: None,
        items,
    };
    store
        .create_job(new, docket_core::now_millis())
        .await
        .expect("create job")
        .job
        .id
}

pub fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:04}")).collect()
}

/// Polls the job until `done` holds, failing the test after `within`.
pub async fn wait_for(
    store: &Arc<dyn Store>,
    id: &str,
    within: Duration,
    what: &str,
    done: impl Fn(&docket_core::Job) -> bool,
) -> docket_core::Job {
    let start = Instant::now();
    loop {
        let job = store
            .get_job(id, docket_core::now_millis())
            .await
            .unwrap()
            .expect("job");
        if done(&job) {
            return job;
        }
        assert!(
            start.elapsed() < within,
            "timed out after {within:?} waiting for {what}: {job:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn all_results(store: &Arc<dyn Store>, id: &str) -> Vec<docket_store::ResultRow> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store.results(id, after, 500).await.unwrap();
        match page.last() {
            Some(last) => after = last.item_id,
            None => return out,
        }
        out.extend(page);
    }
}

/// A handler that walks the `process` stages, sleeping a little in each, and counts how many
/// times each item ran each stage.
#[derive(Default)]
pub struct StagedHandler {
    pub runs: Mutex<HashMap<(String, Stage), u32>>,
    pub per_stage: Duration,
}

#[async_trait]
impl Handler for StagedHandler {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        let stages = [
            Stage::Loading,
            Stage::Extracting,
            Stage::Classifying,
            Stage::Indexing,
        ];
        for stage in stages.into_iter().filter(|s| *s >= ctx.resume_stage()) {
            ctx.enter_stage(stage)?;
            *self
                .runs
                .lock()
                .unwrap()
                .entry((ctx.item().name.clone(), stage))
                .or_default() += 1;
            tokio::time::sleep(self.per_stage).await;
        }
        Ok(json!({"name": ctx.item().name}))
    }
}

pub async fn pause_mid_job_then_resume_gives_exactly_one_result_per_item(store: Arc<dyn Store>) {
    let handler = Arc::new(StagedHandler {
        per_stage: Duration::from_millis(2),
        ..Default::default()
    });
    let running = start(store.clone(), fast_config(), handler.clone());
    let id = submit(&store, &names("doc", 200), JobOptions::default()).await;
    wait_for(&store, &id, Duration::from_secs(30), "50 done", |j| {
        j.counts.succeeded >= 50
    })
    .await;
    let j = store
        .pause_job(&id, PauseReason::User, docket_core::now_millis())
        .await
        .unwrap();
    assert!(j.state == JobState::Paused || j.pause_requested);
    let paused = wait_for(&store, &id, Duration::from_secs(10), "paused", |j| {
        j.state == JobState::Paused
    })
    .await;
    assert_eq!(paused.counts.running, 0);
    assert_eq!(paused.pause_reason, Some(PauseReason::User));
    assert!(paused.counts.succeeded < 200, "paused mid-job");
    // While paused nothing moves.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = store.get_job(&id, 0).await.unwrap().unwrap();
    assert_eq!(still.counts, paused.counts);

    store
        .resume_job(&id, docket_core::now_millis())
        .await
        .unwrap();
    let done = wait_for(&store, &id, Duration::from_secs(30), "completed", |j| {
        j.state == JobState::Completed
    })
    .await;
    assert_eq!(done.counts.succeeded, 200);
    let results = all_results(&store, &id).await;
    assert_eq!(results.len(), 200);
    let mut names: Vec<_> = results.iter().map(|r| r.name.clone()).collect();
    names.dedup();
    assert_eq!(names.len(), 200, "one result per item");
    let runs = handler.runs.lock().unwrap().clone();
    for name in crate::common::names("doc", 200) {
        for stage in [
            Stage::Loading,
            Stage::Extracting,
            Stage::Classifying,
            Stage::Indexing,
        ] {
            assert_eq!(
                runs.get(&(name.clone(), stage)),
                Some(&1),
                "{name} {stage:?} ran once"
            );
        }
    }
    running.stop().await;
}

/// Sleeps (cancellably) in every item.
pub struct SlowHandler(pub Duration);

#[async_trait]
impl Handler for SlowHandler {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        ctx.enter_stage(Stage::Extracting)?;
        tokio::time::sleep(self.0).await;
        Ok(json!(null))
    }
}

pub async fn cancel_mid_job_keeps_finished_and_cancels_the_rest_within_2s(store: Arc<dyn Store>) {
    let running = start(
        store.clone(),
        fast_config(),
        Arc::new(SlowHandler(Duration::from_millis(200))),
    );
    let id = submit(&store, &names("doc", 300), JobOptions::default()).await;
    wait_for(&store, &id, Duration::from_secs(30), "8 done", |j| {
        j.counts.succeeded >= 8
    })
    .await;
    let asked = Instant::now();
    let j = store
        .cancel_job(&id, docket_core::now_millis())
        .await
        .unwrap();
    assert_eq!(j.state, JobState::Cancelled);
    let done = wait_for(
        &store,
        &id,
        Duration::from_secs(2),
        "in-flight items cancelled",
        |j| j.counts.running == 0,
    )
    .await;
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(done.counts.succeeded + done.counts.cancelled, 300);
    assert!(done.counts.cancelled >= 250);
    assert_eq!(
        all_results(&store, &id).await.len() as i64,
        done.counts.succeeded,
        "finished work stays"
    );
    running.stop().await;
}

/// Fails transiently until the third attempt, noting when each attempt started.
#[derive(Default)]
pub struct FlakyHandler {
    pub attempts_at: Mutex<Vec<Instant>>,
}

#[async_trait]
impl Handler for FlakyHandler {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        self.attempts_at.lock().unwrap().push(Instant::now());
        if ctx.item().attempts < 3 {
            return Err(HandlerError::Transient(format!(
                "connection reset (attempt {})",
                ctx.item().attempts
            )));
        }
        Ok(json!({"attempt": ctx.item().attempts}))
    }
}

pub async fn transient_failures_retry_with_growing_delays_then_succeed(store: Arc<dyn Store>) {
    let handler = Arc::new(FlakyHandler::default());
    let running = start(store.clone(), fast_config(), handler.clone());
    let id = submit(&store, &names("flaky", 1), JobOptions::default()).await;
    let done = wait_for(&store, &id, Duration::from_secs(10), "completed", |j| {
        j.state.is_finished()
    })
    .await;
    assert_eq!(done.counts.succeeded, 1);
    let at = handler.attempts_at.lock().unwrap().clone();
    assert_eq!(at.len(), 3);
    let (gap1, gap2) = (at[1] - at[0], at[2] - at[1]);
    // Backoff base 100 ms, factor 2, jitter in [nominal/2, nominal].
    assert!(gap1 >= Duration::from_millis(50), "{gap1:?}");
    assert!(gap2 >= Duration::from_millis(100), "{gap2:?}");
    let item = &store
        .list_items(&id, &ItemQuery::default())
        .await
        .unwrap()
        .items[0];
    assert_eq!(item.attempts, 3);
    assert_eq!(item.errors.len(), 2);
    assert!(item
        .errors
        .iter()
        .all(|e| e.transient && e.message.contains("connection reset")));
    running.stop().await;
}

pub struct FailHandler {
    pub calls: AtomicU32,
}

#[async_trait]
impl Handler for FailHandler {
    async fn run(&self, _ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(HandlerError::Permanent("unsupported file type".into()))
    }
}

pub async fn permanent_failures_are_not_retried(store: Arc<dyn Store>) {
    let handler = Arc::new(FailHandler {
        calls: AtomicU32::new(0),
    });
    let running = start(store.clone(), fast_config(), handler.clone());
    let id = submit(&store, &names("bad", 1), JobOptions::default()).await;
    let done = wait_for(&store, &id, Duration::from_secs(10), "completed", |j| {
        j.state.is_finished()
    })
    .await;
    assert_eq!(done.state, JobState::Completed);
    assert_eq!(done.counts.failed, 1);
    assert_eq!(handler.calls.load(Ordering::SeqCst), 1);
    let item = &store
        .list_items(&id, &ItemQuery::default())
        .await
        .unwrap()
        .items[0];
    assert_eq!(item.attempts, 1);
    assert_eq!(item.errors.len(), 1);
    assert!(!item.errors[0].transient);
    assert_eq!(item.errors[0].message, "unsupported file type");
    running.stop().await;
}

/// Fails items whose name starts with `bad` while `failing` is set.
pub struct SometimesBad {
    pub failing: AtomicBool,
}

#[async_trait]
impl Handler for SometimesBad {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        ctx.enter_stage(Stage::Extracting)?;
        // Long enough for each outcome to be written before the next item ends.
        tokio::time::sleep(Duration::from_millis(30)).await;
        if ctx.item().name.starts_with("bad") && self.failing.load(Ordering::SeqCst) {
            return Err(HandlerError::Permanent("corrupt file".into()));
        }
        Ok(json!(null))
    }
}

pub async fn consecutive_failures_auto_pause_and_resume_requeues_them(store: Arc<dyn Store>) {
    let handler = Arc::new(SometimesBad {
        failing: AtomicBool::new(true),
    });
    let config = EngineConfig {
        workers: 1,
        prefetch: 1,
        claim_batch: 1,
        ..fast_config()
    };
    let running = start(store.clone(), config, handler.clone());
    let mut items = names("good-a", 2);
    items.extend(names("bad", 6));
    items.extend(names("good-b", 10));
    let options = JobOptions {
        auto_pause_after: 3,
        max_retries: 0,
        ..JobOptions::default()
    };
    let id = submit(&store, &items, options).await;
    let paused = wait_for(&store, &id, Duration::from_secs(10), "auto-paused", |j| {
        j.state == JobState::Paused
    })
    .await;
    assert_eq!(paused.pause_reason, Some(PauseReason::ConsecutiveFailures));
    // The third failure asks for the pause; the items already claimed (one running, one
    // prefetched) may fail too before the pause reaches this worker.
    assert!(
        (3..=5).contains(&paused.counts.failed),
        "{:?}",
        paused.counts
    );
    assert_eq!(paused.counts.succeeded, 2);
    let failed: Vec<String> = store
        .list_items(
            &id,
            &ItemQuery {
                state: Some(docket_core::ItemState::Failed),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(
        failed,
        names("bad", failed.len()),
        "the run of failures, in order"
    );

    handler.failing.store(false, Ordering::SeqCst);
    let resumed = store
        .resume_job(&id, docket_core::now_millis())
        .await
        .unwrap();
    assert_eq!(resumed.counts.failed, 0, "the failed run went back in line");
    assert_eq!(resumed.consecutive_failures, 0);
    let done = wait_for(&store, &id, Duration::from_secs(10), "completed", |j| {
        j.state == JobState::Completed
    })
    .await;
    assert_eq!(done.counts.succeeded, 18);
    assert_eq!(all_results(&store, &id).await.len(), 18);
    running.stop().await;
}

pub struct HangingHandler;

#[async_trait]
impl Handler for HangingHandler {
    async fn run(&self, _ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(json!(null))
    }
}

pub async fn a_hanging_handler_is_cut_off_at_its_timeout(store: Arc<dyn Store>) {
    let running = start(store.clone(), fast_config(), Arc::new(HangingHandler));
    let options = JobOptions {
        item_timeout_seconds: 1,
        max_retries: 0,
        ..JobOptions::default()
    };
    let started = Instant::now();
    let id = submit(&store, &names("hang", 2), options).await;
    let done = wait_for(&store, &id, Duration::from_secs(10), "completed", |j| {
        j.state.is_finished()
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(done.counts.failed, 2);
    let item = &store
        .list_items(&id, &ItemQuery::default())
        .await
        .unwrap()
        .items[0];
    assert!(
        item.errors[0].message.contains("timed out after 1 s"),
        "{:?}",
        item.errors
    );
    running.stop().await;
}

pub struct PanickyHandler;

#[async_trait]
impl Handler for PanickyHandler {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        if ctx.item().name.ends_with('1') {
            panic!("parser bug on {}", ctx.item().name);
        }
        Ok(json!(null))
    }
}

pub async fn a_panicking_handler_fails_only_its_item(store: Arc<dyn Store>) {
    let running = start(store.clone(), fast_config(), Arc::new(PanickyHandler));
    let id = submit(&store, &names("p", 10), JobOptions::default()).await;
    let done = wait_for(&store, &id, Duration::from_secs(10), "completed", |j| {
        j.state.is_finished()
    })
    .await;
    assert_eq!((done.counts.succeeded, done.counts.failed), (9, 1));
    let failed = store
        .list_items(
            &id,
            &ItemQuery {
                state: Some(docket_core::ItemState::Failed),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(failed.items[0].errors[0]
        .message
        .contains("parser bug on p-0001"));
    running.stop().await;
}

pub async fn a_graceful_stop_hands_items_back_and_a_new_engine_finishes(store: Arc<dyn Store>) {
    let handler = Arc::new(StagedHandler {
        per_stage: Duration::from_millis(20),
        ..Default::default()
    });
    let first = start(store.clone(), fast_config(), handler.clone());
    let id = submit(&store, &names("doc", 60), JobOptions::default()).await;
    wait_for(&store, &id, Duration::from_secs(30), "10 done", |j| {
        j.counts.succeeded >= 10
    })
    .await;
    first.stop().await;
    let j = store.get_job(&id, 0).await.unwrap().unwrap();
    assert_eq!(j.counts.running, 0, "a graceful stop leaves nothing leased");
    assert_eq!(j.state, JobState::Running);
    let second = start(store.clone(), fast_config(), handler.clone());
    wait_for(&store, &id, Duration::from_secs(30), "completed", |j| {
        j.state == JobState::Completed
    })
    .await;
    assert_eq!(all_results(&store, &id).await.len(), 60);
    let runs = handler.runs.lock().unwrap().clone();
    assert!(
        runs.values().all(|n| *n == 1),
        "no stage ran twice across the restart"
    );
    second.stop().await;
}

/// Lists `count` items in chunks of 10, slowly enough that work starts before the end.
pub struct CountingLister;

#[async_trait]
impl docket_engine::Lister for CountingLister {
    async fn list(
        &self,
        source: &docket_core::JobSource,
        skip: u64,
        sink: tokio::sync::mpsc::Sender<Vec<NewItem>>,
    ) -> Result<(), HandlerError> {
        let docket_core::JobSource::Noop { count } = *source else {
            return Err(HandlerError::Permanent("no count".into()));
        };
        let mut next = skip;
        while next < count {
            let end = (next + 10).min(count);
            let chunk = (next..end)
                .map(|i| NewItem {
                    name: format!("listed-{i:04}"),
                    payload: docket_core::ItemPayload::Noop { sleep_ms: None },
                })
                .collect();
            if sink.send(chunk).await.is_err() {
                return Err(HandlerError::Interrupted);
            }
            next = end;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }
}

pub async fn a_source_is_listed_by_the_job_while_its_items_run(store: Arc<dyn Store>) {
    let engine = Engine::new(store.clone(), fast_config())
        .with_handler(
            JobKind::Process,
            Arc::new(SlowHandler(Duration::from_millis(2))),
        )
        .with_lister(JobKind::Process, Arc::new(CountingLister));
    let running = run_engine(engine, store.clone());
    let new = NewJob {
        id: None,
        source: Some(docket_core::JobSource::Noop { count: 95 }),
        user: "u".into(),
        kind: JobKind::Process,
        options: JobOptions::default(),
        idempotency_key: None,
        items: Vec::new(),
    };
    let id = store
        .create_job(new, docket_core::now_millis())
        .await
        .unwrap()
        .job
        .id;
    let done = wait_for(&store, &id, Duration::from_secs(20), "completed", |j| {
        j.state.is_finished()
    })
    .await;
    assert_eq!(done.state, JobState::Completed, "{:?}", done.error);
    assert_eq!((done.counts.total, done.counts.succeeded), (95, 95));
    let bad = NewJob {
        source: Some(docket_core::JobSource::Folder {
            path: "/nothing".into(),
        }),
        ..NewJob {
            id: None,
            source: None,
            user: "u".into(),
            kind: JobKind::Process,
            options: JobOptions::default(),
            idempotency_key: None,
            items: Vec::new(),
        }
    };
    let bad = store
        .create_job(bad, docket_core::now_millis())
        .await
        .unwrap()
        .job
        .id;
    let failed = wait_for(&store, &bad, Duration::from_secs(20), "failed", |j| {
        j.state.is_finished()
    })
    .await;
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.error.as_deref(), Some("no count"));
    running.stop().await;
}

/// Removes the jobs marked deleted and records which (the engine crate cannot see the
/// application's blob-removing pass).
pub struct RecordingCleanup {
    pub store: Arc<dyn Store>,
    pub removed: Mutex<Vec<String>>,
}

#[async_trait]
impl docket_engine::JobCleanup for RecordingCleanup {
    async fn sweep(&self) -> usize {
        let now = docket_core::now_millis();
        let due = self
            .store
            .take_deletions(now, now + 60_000, 100)
            .await
            .unwrap();
        for id in &due {
            self.store.remove_deleted(id).await.unwrap();
        }
        self.removed.lock().unwrap().extend(due.iter().cloned());
        due.len()
    }
}

pub async fn retention_deletes_finished_jobs_and_their_files(store: Arc<dyn Store>) {
    let cleanup = Arc::new(RecordingCleanup {
        store: store.clone(),
        removed: Mutex::new(Vec::new()),
    });
    let config = EngineConfig {
        retention: Some(Duration::from_millis(300)),
        retention_every: Duration::from_millis(50),
        rescue_every: Duration::from_millis(50),
        ..fast_config()
    };
    let done = submit(&store, &names("old", 3), JobOptions::default()).await;
    // Paused before any worker sees it: unfinished, so never purged.
    let running = submit(&store, &names("kept", 1), JobOptions::default()).await;
    store
        .pause_job(&running, PauseReason::User, docket_core::now_millis())
        .await
        .unwrap();
    let engine = Engine::new(store.clone(), config)
        .with_handler(JobKind::Noop, Arc::new(docket_engine::NoopHandler))
        .with_cleanup(cleanup.clone());
    let engine = run_engine(engine, store.clone());
    let start = Instant::now();
    while store.get_job(&done, 0).await.unwrap().is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the finished job was not purged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "kept for its retention first"
    );
    // Hidden at once when marked; removed by the sweep that follows.
    let start = Instant::now();
    while cleanup.removed.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the marked job was not removed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(cleanup.removed.lock().unwrap().clone(), vec![done]);
    assert!(
        store.get_job(&running, 0).await.unwrap().is_some(),
        "unfinished jobs are kept"
    );
    engine.stop().await;
}

/// Counts the items it runs, and that they are of the one kind it was registered for.
struct KindCounter {
    kind: JobKind,
    ran: AtomicU32,
    wrong_kind: AtomicU32,
}

#[async_trait]
impl Handler for KindCounter {
    async fn run(&self, ctx: &ItemContext) -> Result<serde_json::Value, HandlerError> {
        let counter = if ctx.item().kind == self.kind {
            &self.ran
        } else {
            &self.wrong_kind
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(json!(null))
    }
}

/// A mixed fleet on one database: an engine with only a `noop` handler and one with only a
/// `process` handler both finish the jobs of their own kind, neither ever runs (or fails) an
/// item of the other kind, and no job fails.
pub async fn engines_with_different_handlers_share_a_database(store: Arc<dyn Store>) {
    let counter = |kind| {
        Arc::new(KindCounter {
            kind,
            ran: AtomicU32::new(0),
            wrong_kind: AtomicU32::new(0),
        })
    };
    let (noop, process) = (counter(JobKind::Noop), counter(JobKind::Process));
    let engine = |kind, handler: Arc<KindCounter>, worker: &str| {
        let config = EngineConfig {
            worker_id: worker.into(),
            ..fast_config()
        };
        run_engine(
            Engine::new(store.clone(), config).with_handler(kind, handler),
            store.clone(),
        )
    };
    let noop_engine = engine(JobKind::Noop, noop.clone(), "noop-engine");
    let process_engine = engine(JobKind::Process, process.clone(), "process-engine");

    let mut jobs = Vec::new();
    for (kind, n) in [
        (JobKind::Process, 40i64),
        (JobKind::Noop, 40),
        (JobKind::Process, 25),
    ] {
        let new = NewJob {
            id: None,
            source: None,
            user: "u".into(),
            kind,
            options: JobOptions::default(),
            idempotency_key: None,
            items: names(kind.as_str(), n as usize)
                .into_iter()
                .map(|name| NewItem {
                    name,
                    payload: docket_core::ItemPayload::Noop { sleep_ms: None },
                })
                .collect(),
        };
        let id = store
            .create_job(new, docket_core::now_millis())
            .await
            .expect("create job")
            .job
            .id;
        jobs.push((id, n));
    }
    for (id, n) in &jobs {
        let done = wait_for(
            &store,
            id,
            Duration::from_secs(30),
            "the job to finish",
            |j| j.state.is_finished(),
        )
        .await;
        assert_eq!(done.state, JobState::Completed, "{done:#?}");
        assert_eq!((done.counts.succeeded, done.counts.failed), (*n, 0));
    }
    noop_engine.stop().await;
    process_engine.stop().await;
    assert_eq!(noop.ran.load(Ordering::Relaxed), 40);
    assert_eq!(process.ran.load(Ordering::Relaxed), 65);
    assert_eq!(noop.wrong_kind.load(Ordering::Relaxed), 0);
    assert_eq!(process.wrong_kind.load(Ordering::Relaxed), 0);
}

#[macro_export]
macro_rules! engine_suite {
    ($open:path) => {
        $crate::engine_suite!(@cases $open;
            pause_mid_job_then_resume_gives_exactly_one_result_per_item,
            cancel_mid_job_keeps_finished_and_cancels_the_rest_within_2s,
            transient_failures_retry_with_growing_delays_then_succeed,
            permanent_failures_are_not_retried,
            consecutive_failures_auto_pause_and_resume_requeues_them,
            a_hanging_handler_is_cut_off_at_its_timeout,
            a_panicking_handler_fails_only_its_item,
            a_graceful_stop_hands_items_back_and_a_new_engine_finishes,
            a_source_is_listed_by_the_job_while_its_items_run,
            retention_deletes_finished_jobs_and_their_files,
            engines_with_different_handlers_share_a_database,
            a_pause_between_checkpointed_steps_repeats_none,
            a_failed_item_shows_the_stage_it_failed_in,
            current_items_are_only_the_started_ones,
            priorities_share_the_workers_one_two_four_and_a_change_applies_at_once,
            a_job_waits_for_not_before_and_held_jobs_do_not_block_claims,
        );
    };
    (@cases $open:path; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $open().await;
                common::$case(store).await;
            }
        )+
    };
}
