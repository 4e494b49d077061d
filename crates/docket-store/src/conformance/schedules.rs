//! Conformance: schedules, and the compare-and-set that lets each tick run once.

use super::*;
use crate::{NewSchedule, ScheduleSettings, TickOutcome};
use docket_core::{JobTemplate, TemplateSource};

fn settings(next: Option<i64>) -> ScheduleSettings {
    ScheduleSettings {
        cron: "*/5 * * * *".into(),
        timezone: "Europe/Paris".into(),
        job: JobTemplate {
            kind: JobKind::Noop,
            source: TemplateSource {
                count: Some(2),
                ..TemplateSource::default()
            },
            options: json!({"priority": "low"}),
        },
        enabled: true,
        next_run_at: next,
    }
}

async fn create(store: &Arc<dyn Store>, id: &str, user: &str, next: i64) {
    store
        .create_schedule(
            NewSchedule {
                id: id.into(),
                user: user.into(),
                settings: settings(Some(next)),
            },
            1,
        )
        .await
        .unwrap();
}

pub async fn schedules_belong_to_their_user_and_keep_their_template(store: Arc<dyn Store>) {
    create(&store, "sch_a", "u", 300_000).await;
    create(&store, "sch_b", "u", 600_000).await;
    create(&store, "sch_c", "other", 300_000).await;

    let a = store.schedule("sch_a", "u").await.unwrap().expect("mine");
    assert_eq!(a.cron, "*/5 * * * *");
    assert_eq!(a.timezone, "Europe/Paris");
    assert_eq!(a.job, settings(None).job);
    assert_eq!(a.next_run_at, Some(300_000));
    assert!(a.runs.is_empty() && a.last_run_at.is_none());
    assert!(store.schedule("sch_a", "other").await.unwrap().is_none());
    assert!(store.schedule("sch_\0", "u").await.unwrap().is_none());

    let mine = store.schedules("u", None, 10).await.unwrap();
    assert_eq!(
        mine.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["sch_a", "sch_b"]
    );
    let page = store.schedules("u", Some("sch_a"), 10).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, "sch_b");

    // Disabled: no next run shown, and never due.
    let mut off = settings(Some(300_000));
    off.enabled = false;
    let b = store
        .update_schedule("sch_b", "u", off, 2)
        .await
        .unwrap()
        .unwrap();
    assert!(!b.enabled);
    assert_eq!(b.next_run_at, None);
    assert!(store
        .update_schedule("sch_b", "other", settings(None), 2)
        .await
        .unwrap()
        .is_none());
    let due: Vec<String> = store
        .due_schedules(1_000_000, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(due, ["sch_a", "sch_c"]);

    assert!(!store.delete_schedule("sch_a", "other").await.unwrap());
    assert!(store.delete_schedule("sch_a", "u").await.unwrap());
    assert!(store.schedule("sch_a", "u").await.unwrap().is_none());
    assert!(!store.delete_schedule("sch_a", "u").await.unwrap());
}

pub async fn a_tick_moves_a_schedule_on_once(store: Arc<dyn Store>) {
    create(&store, "sch_a", "u", 300_000).await;
    assert!(store.due_schedules(299_999, 10).await.unwrap().is_empty());
    assert_eq!(store.due_schedules(300_000, 10).await.unwrap().len(), 1);

    let job = store
        .create_job(new_job("u", 1, JobOptions::default()), 300_001)
        .await
        .unwrap()
        .job;
    let ran = |next, outcome| {
        let store = store.clone();
        async move {
            store
                .schedule_ran("sch_a", 300_000, next, outcome, 300_002)
                .await
                .unwrap()
        }
    };
    let submitted = TickOutcome::Submitted {
        job_id: job.id.clone(),
    };
    // Two processes that both made (or found) the tick's job: one moves the schedule on.
    assert!(ran(Some(600_000), submitted.clone()).await);
    assert!(!ran(Some(600_000), submitted.clone()).await);
    assert!(store.due_schedules(599_999, 10).await.unwrap().is_empty());

    let s = store.schedule("sch_a", "u").await.unwrap().unwrap();
    assert_eq!(s.next_run_at, Some(600_000));
    assert_eq!(s.last_run_at, Some(300_000));
    assert_eq!(s.last_job_id.as_deref(), Some(job.id.as_str()));
    assert_eq!(s.runs.len(), 1);
    assert_eq!(s.runs[0].job_id.as_deref(), Some(job.id.as_str()));
    assert_eq!(s.runs[0].job_state, Some(JobState::Queued));

    // A tick that could make no job is recorded with why, and the schedule still moves on.
    assert!(store
        .schedule_ran(
            "sch_a",
            600_000,
            Some(900_000),
            TickOutcome::Refused {
                error: "the folder \0 is gone".into()
            },
            600_001,
        )
        .await
        .unwrap());
    let s = store.schedule("sch_a", "u").await.unwrap().unwrap();
    assert_eq!(s.runs.len(), 2);
    assert_eq!(s.runs[0].tick, 600_000);
    assert!(s.runs[0].error.as_deref().unwrap().contains("is gone"));
    assert_eq!(s.last_job_id.as_deref(), Some(job.id.as_str()));
    assert!(s.last_error.is_some());

    // A disabled schedule is not moved on by a process that read it as due before.
    let mut off = settings(Some(900_000));
    off.enabled = false;
    store.update_schedule("sch_a", "u", off, 3).await.unwrap();
    assert!(!store
        .schedule_ran("sch_a", 900_000, Some(1_200_000), submitted, 900_001)
        .await
        .unwrap());
}

pub async fn schedule_runs_keep_the_newest(store: Arc<dyn Store>) {
    create(&store, "sch_a", "u", 1).await;
    for tick in 1..=60 {
        assert!(store
            .schedule_ran(
                "sch_a",
                tick,
                Some(tick + 1),
                TickOutcome::Refused {
                    error: format!("tick {tick}")
                },
                tick,
            )
            .await
            .unwrap());
    }
    let s = store.schedule("sch_a", "u").await.unwrap().unwrap();
    assert_eq!(s.runs.len(), 20);
    assert_eq!(s.runs[0].tick, 60);
    assert_eq!(s.runs[19].tick, 41);
}
