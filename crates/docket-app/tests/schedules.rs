//! Schedules and the scheduler on real stores (SQLite and PostgreSQL) with a clock the test
//! moves: two schedulers on two connections of one database race for every tick, as two
//! processes would, and each tick makes exactly one job.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use docket_app::{Clock, Scheduler, Schedules, ServiceError, Submission};
use docket_blobs::Blobs;
use docket_core::{rfc3339, ErrorCode, JobKind, Millis, ScheduleChange, ScheduleRequest};
use docket_store::prelude::*;
use docket_store::JobQuery;
use serde_json::json;

/// Two connections (pools) to one fresh database: what two processes would have.
async fn two_stores(postgres: bool) -> (Arc<dyn Store>, Arc<dyn Store>, Option<tempfile::TempDir>) {
    if postgres {
        let url = docket_store::testing::fresh_postgres_url().await;
        let a = docket_store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        let b = docket_store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        (Arc::new(a), Arc::new(b), None)
    } else {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("d.db").display());
        let a = docket_store::sqlite::SqliteStore::connect(&url)
            .await
            .unwrap();
        let b = docket_store::sqlite::SqliteStore::connect(&url)
            .await
            .unwrap();
        (Arc::new(a), Arc::new(b), Some(dir))
    }
}

fn at(s: &str) -> Millis {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

struct World {
    a: Scheduler,
    b: Scheduler,
    schedules: Schedules,
    store: Arc<dyn Store>,
    now: Arc<AtomicI64>,
    root: PathBuf,
    _dirs: (
        tempfile::TempDir,
        tempfile::TempDir,
        Option<tempfile::TempDir>,
    ),
}

impl World {
    async fn new(postgres: bool) -> World {
        let (sa, sb, db) = two_stores(postgres).await;
        let blob_dir = tempfile::tempdir().unwrap();
        let roots = tempfile::tempdir().unwrap();
        let root = roots.path().canonicalize().unwrap();
        let submission = |store: Arc<dyn Store>| {
            Submission::new(
                store,
                Blobs::open(blob_dir.path().to_str().unwrap()).unwrap(),
                Arc::new(vec![root.clone()]),
                docket_app::UploadLimits::uniform(1 << 20),
            )
        };
        let now = Arc::new(AtomicI64::new(at("2026-03-01T00:01:00Z")));
        let clock: Clock = {
            let now = now.clone();
            Arc::new(move || now.load(Ordering::SeqCst))
        };
        World {
            a: Scheduler::new(
                submission(sa.clone()),
                clock.clone(),
                Duration::from_secs(1),
            ),
            b: Scheduler::new(submission(sb), clock, Duration::from_secs(1)),
            schedules: Schedules::new(submission(sa.clone()), Arc::new(Vec::new())),
            store: sa,
            now,
            root,
            _dirs: (blob_dir, roots, db),
        }
    }

    fn set(&self, t: Millis) {
        self.now.store(t, Ordering::SeqCst);
    }

    fn now(&self) -> Millis {
        self.now.load(Ordering::SeqCst)
    }

    /// Both schedulers at once; how many ticks they ran between them.
    async fn race(&self) -> usize {
        let (a, b) = tokio::join!(self.a.run_due(), self.b.run_due());
        let (a, b) = (a.unwrap(), b.unwrap());
        a.ran + b.ran
    }

    async fn jobs(&self, user: &str) -> Vec<docket_core::Job> {
        let query = JobQuery {
            user: Some(user.into()),
            state: None,
            kind: None,
            limit: 1000,
            cursor: None,
            live_since: None,
        };
        self.store
            .list_jobs(&query, self.now())
            .await
            .unwrap()
            .items
    }

    async fn create(&self, body: serde_json::Value) -> Result<docket_core::Schedule, ServiceError> {
        let request: ScheduleRequest = serde_json::from_value(body).unwrap();
        self.schedules.create("u", request, self.now()).await
    }
}

fn refused(r: Result<docket_core::Schedule, ServiceError>) -> (ErrorCode, String) {
    match r {
        Err(ServiceError::Refused { code, detail }) => (code, detail),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn each_tick_makes_one_job_however_many_race(postgres: bool) {
    let w = World::new(postgres).await;
    let s = w
        .create(json!({"cron": "*/5 * * * *", "timezone": "Europe/Paris",
                       "job": {"kind": "noop", "source": {"count": 2}, "options": {"priority": "low"}}}))
        .await
        .unwrap();
    assert_eq!(
        s.next_run_at,
        Some(at("2026-03-01T00:05:00Z")),
        "{}",
        rfc3339(s.next_run_at.unwrap())
    );

    w.set(at("2026-03-01T00:04:59.999Z"));
    assert_eq!(w.race().await, 0, "not due yet");
    assert!(w.jobs("u").await.is_empty());

    // Twenty ticks, each raced by both schedulers (several rounds each, as processes would).
    for i in 1..=20i64 {
        w.set(at("2026-03-01T00:00:00Z") + i * 300_000);
        let mut ran = 0;
        for _ in 0..3 {
            ran += w.race().await;
        }
        assert_eq!(ran, 1, "tick {i} ran once");
    }
    let jobs = w.jobs("u").await;
    assert_eq!(jobs.len(), 20, "one job per tick");
    assert!(jobs
        .iter()
        .all(|j| j.kind == JobKind::Noop && j.counts.total == 2));
    assert!(jobs.iter().all(|j| j.options.priority.as_str() == "low"));
    let shown = w.schedules.get("u", &s.id).await.unwrap();
    assert_eq!(shown.runs.len(), 20, "the latest twenty runs");
    let mut run_jobs: Vec<_> = shown.runs.iter().filter_map(|r| r.job_id.clone()).collect();
    run_jobs.sort();
    run_jobs.dedup();
    assert_eq!(run_jobs.len(), 20, "every run names its own job");
    assert_eq!(shown.last_run_at, Some(at("2026-03-01T01:40:00Z")));
    assert_eq!(shown.next_run_at, Some(at("2026-03-01T01:45:00Z")));

    // Everything was down for three hours: the missed tick runs once at start, the rest are
    // skipped, and the schedule goes on from the first tick after now.
    w.set(at("2026-03-01T04:47:30Z"));
    assert_eq!(w.race().await + w.race().await, 1);
    assert_eq!(w.jobs("u").await.len(), 21);
    let shown = w.schedules.get("u", &s.id).await.unwrap();
    assert_eq!(shown.runs[0].tick, at("2026-03-01T01:45:00Z"));
    assert_eq!(shown.next_run_at, Some(at("2026-03-01T04:50:00Z")));

    // Paused: its ticks do not run; resumed: it goes on from the next tick after now.
    let paused = w
        .schedules
        .change(
            "u",
            &s.id,
            ScheduleChange {
                enabled: Some(false),
                ..Default::default()
            },
            w.now(),
        )
        .await
        .unwrap();
    assert_eq!(paused.next_run_at, None);
    w.set(at("2026-03-01T05:12:00Z"));
    assert_eq!(w.race().await, 0);
    let resumed = w
        .schedules
        .change(
            "u",
            &s.id,
            ScheduleChange {
                enabled: Some(true),
                ..Default::default()
            },
            w.now(),
        )
        .await
        .unwrap();
    assert_eq!(resumed.next_run_at, Some(at("2026-03-01T05:15:00Z")));
    assert_eq!(w.race().await, 0, "ticks that fell while paused do not run");
    assert_eq!(w.jobs("u").await.len(), 21);

    // Another user sees none of it.
    assert!(matches!(
        w.schedules.get("someone", &s.id).await,
        Err(ServiceError::Refused {
            code: ErrorCode::NotFound,
            ..
        })
    ));
    w.schedules.delete("u", &s.id).await.unwrap();
    w.set(at("2026-03-01T06:00:00Z"));
    assert_eq!(w.race().await, 0, "a deleted schedule makes no job");
}

async fn a_folder_schedule_and_what_is_refused(postgres: bool) {
    let w = World::new(postgres).await;
    let drop = w.root.join("drop");
    std::fs::create_dir(&drop).unwrap();
    std::fs::write(drop.join("a.txt"), "first").unwrap();
    let s = w
        .create(json!({"cron": "0 2 * * *", "timezone": "America/New_York",
                       "job": {"kind": "process", "source": {"path": drop}}}))
        .await
        .unwrap();
    assert_eq!(s.next_run_at, Some(at("2026-03-01T07:00:00Z")));
    w.set(at("2026-03-01T07:00:00Z"));
    assert_eq!(w.race().await, 1);
    let jobs = w.jobs("u").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, JobKind::Process);

    // The folder went away: the tick is recorded with why, and the schedule goes on.
    std::fs::remove_dir_all(&drop).unwrap();
    w.set(at("2026-03-02T07:00:00Z"));
    assert_eq!(w.race().await, 1);
    let shown = w.schedules.get("u", &s.id).await.unwrap();
    assert_eq!(shown.runs.len(), 2);
    assert!(shown.runs[0].job_id.is_none());
    assert!(
        shown.last_error.as_deref().unwrap_or("").contains("drop"),
        "{shown:?}"
    );
    assert_eq!(shown.next_run_at, Some(at("2026-03-03T07:00:00Z")));
    assert_eq!(w.jobs("u").await.len(), 1);

    // Refused at the door, naming the field.
    let job = json!({"kind": "noop", "source": {"count": 1}});
    for (body, code, field) in [
        (
            json!({"cron": "61 * * * *", "job": job}),
            ErrorCode::InvalidSchedule,
            "`cron`",
        ),
        (
            json!({"cron": "@daily", "timezone": "Mars/Olympus", "job": job}),
            ErrorCode::InvalidSchedule,
            "`timezone`",
        ),
        (
            json!({"cron": "@daily", "job": {"kind": "reindex", "source": {}}}),
            ErrorCode::InvalidSchedule,
            "`job.kind`",
        ),
        (
            json!({"cron": "@daily", "job": {"kind": "process", "source": {}}}),
            ErrorCode::InvalidSchedule,
            "`job.source.path`",
        ),
        (
            json!({"cron": "@daily", "job": {"kind": "noop", "source": {"count": 0}}}),
            ErrorCode::InvalidSchedule,
            "`job.source.count`",
        ),
        (
            json!({"cron": "@daily", "job": {"kind": "noop", "source": {"count": 1}, "options": {"max_retries": "x"}}}),
            ErrorCode::InvalidOptions,
            "`job.options`",
        ),
        (
            json!({"cron": "@daily", "job": {"kind": "process", "source": {"path": "/etc"}}}),
            ErrorCode::PathNotAllowed,
            "`job.source.path`",
        ),
    ] {
        let (got, detail) = refused(w.create(body.clone()).await);
        assert_eq!(got, code, "{body}: {detail}");
        assert!(detail.contains(field), "{body}: {detail}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tick_makes_one_job_however_many_race_sqlite() {
    each_tick_makes_one_job_however_many_race(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tick_makes_one_job_however_many_race_postgres() {
    each_tick_makes_one_job_however_many_race(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_schedule_and_what_is_refused_sqlite() {
    a_folder_schedule_and_what_is_refused(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_schedule_and_what_is_refused_postgres() {
    a_folder_schedule_and_what_is_refused(true).await;
}
