//! Schedules, written once: the statements read alike in both dialects but for the partial
//! index of due schedules (`enabled = 1` against a boolean).

use async_trait::async_trait;
use docket_core::{JobState, JobTemplate, Millis, Schedule, ScheduleRun};

use super::sql::{Arg, On, Sql, Statements};
use crate::{NewSchedule, ScheduleSettings, ScheduleStore, StoreError, TickOutcome};

/// How many runs a schedule keeps (the newest).
const RUNS_KEPT: i64 = 50;
/// How many of them a schedule's resource shows.
const RUNS_SHOWN: i64 = 20;

const COLUMNS: &str = "id, user_id, cron, timezone, job, enabled, next_run_at, last_run_at, \
    last_job_id, last_error, created_at, updated_at";

const DUE: Sql = Sql::each(
    "SELECT id, user_id, cron, timezone, job, enabled, next_run_at, last_run_at, last_job_id, \
     last_error, created_at, updated_at FROM schedules INDEXED BY schedules_due \
     WHERE enabled = 1 AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2",
    "SELECT id, user_id, cron, timezone, job, enabled, next_run_at, last_run_at, last_job_id, \
     last_error, created_at, updated_at FROM schedules \
     WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2",
);

#[derive(sqlx::FromRow)]
struct ScheduleRow {
    id: String,
    user_id: String,
    cron: String,
    timezone: String,
    job: String,
    enabled: bool,
    next_run_at: Option<i64>,
    last_run_at: Option<i64>,
    last_job_id: Option<String>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl ScheduleRow {
    fn into_schedule(self, runs: Vec<ScheduleRun>) -> Result<Schedule, StoreError> {
        let job: JobTemplate = serde_json::from_str(&self.job)?;
        Ok(Schedule {
            id: self.id,
            user: self.user_id,
            cron: self.cron,
            timezone: self.timezone,
            job,
            enabled: self.enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
            next_run_at: self.next_run_at.filter(|_| self.enabled),
            last_run_at: self.last_run_at,
            last_job_id: self.last_job_id,
            last_error: self.last_error,
            runs,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RunRow {
    tick: i64,
    ran_at: i64,
    job_id: Option<String>,
    job_state: Option<String>,
    error: Option<String>,
}

impl RunRow {
    fn into_run(self) -> ScheduleRun {
        ScheduleRun {
            tick: self.tick,
            ran_at: self.ran_at,
            job_state: self.job_state.and_then(|s| s.parse::<JobState>().ok()),
            job_id: self.job_id,
            error: self.error,
        }
    }
}

/// PostgreSQL's text cannot hold NUL; an error message is only for people.
fn storable(text: &str) -> String {
    text.replace('\0', " ")
}

async fn runs<D: Statements>(driver: &D, id: &str) -> Result<Vec<ScheduleRun>, StoreError> {
    let rows: Vec<RunRow> = driver
        .fetch_all(
            On::Read,
            Sql::same(
                "SELECT r.tick, r.ran_at, r.job_id, j.state AS job_state, r.error \
                 FROM schedule_runs r LEFT JOIN jobs j ON j.id = r.job_id \
                 WHERE r.schedule_id = $1 ORDER BY r.tick DESC LIMIT $2",
            ),
            &[id.into(), RUNS_SHOWN.into()],
        )
        .await?;
    Ok(rows.into_iter().map(RunRow::into_run).collect())
}

async fn with_runs<D: Statements>(
    driver: &D,
    row: Option<ScheduleRow>,
) -> Result<Option<Schedule>, StoreError> {
    match row {
        Some(row) => {
            let runs = runs(driver, &row.id).await?;
            Ok(Some(row.into_schedule(runs)?))
        }
        None => Ok(None),
    }
}

/// Text a user gave that a backend without NUL cannot look up: nothing has it.
fn unfindable<D: Statements>(driver: &D, texts: &[&str]) -> bool {
    !driver.stores_nul() && texts.iter().any(|t| t.contains('\0'))
}

fn settings_args(s: &ScheduleSettings) -> Result<(String, String, String), StoreError> {
    Ok((
        storable(&s.cron),
        storable(&s.timezone),
        serde_json::to_string(&s.job)?,
    ))
}

#[async_trait]
impl<D: Statements + 'static> ScheduleStore for D {
    async fn create_schedule(&self, new: NewSchedule, now: Millis) -> Result<Schedule, StoreError> {
        let (cron, timezone, job) = settings_args(&new.settings)?;
        let mut tx = self.begin().await?;
        let row: ScheduleRow = self
            .fetch_one(
                On::Tx(&mut tx),
                Sql::same(&format!(
                    "INSERT INTO schedules (id, user_id, cron, timezone, job, enabled, \
                     next_run_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {COLUMNS}"
                )),
                &[
                    new.id.as_str().into(),
                    storable(&new.user).as_str().into(),
                    cron.as_str().into(),
                    timezone.as_str().into(),
                    job.as_str().into(),
                    Arg::Bool(new.settings.enabled),
                    new.settings.next_run_at.into(),
                    now.into(),
                ],
            )
            .await?;
        self.commit(tx).await?;
        row.into_schedule(Vec::new())
    }

    async fn schedule(&self, id: &str, user: &str) -> Result<Option<Schedule>, StoreError> {
        if unfindable(self, &[id, user]) {
            return Ok(None);
        }
        let row: Option<ScheduleRow> = self
            .fetch_optional(
                On::Read,
                Sql::same(&format!(
                    "SELECT {COLUMNS} FROM schedules WHERE id = $1 AND user_id = $2"
                )),
                &[id.into(), user.into()],
            )
            .await?;
        with_runs(self, row).await
    }

    async fn schedules(
        &self,
        user: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Schedule>, StoreError> {
        if unfindable(self, &[user, after.unwrap_or("")]) {
            return Ok(Vec::new());
        }
        let rows: Vec<ScheduleRow> = self
            .fetch_all(
                On::Read,
                Sql::same(&format!(
                    "SELECT {COLUMNS} FROM schedules WHERE user_id = $1 AND id > $2 \
                     ORDER BY id LIMIT $3"
                )),
                &[
                    user.into(),
                    after.unwrap_or("").into(),
                    i64::from(limit).into(),
                ],
            )
            .await?;
        let mut schedules = Vec::with_capacity(rows.len());
        for row in rows {
            let runs = runs(self, &row.id).await?;
            schedules.push(row.into_schedule(runs)?);
        }
        Ok(schedules)
    }

    async fn update_schedule(
        &self,
        id: &str,
        user: &str,
        settings: ScheduleSettings,
        now: Millis,
    ) -> Result<Option<Schedule>, StoreError> {
        if unfindable(self, &[id, user]) {
            return Ok(None);
        }
        let (cron, timezone, job) = settings_args(&settings)?;
        let mut tx = self.begin().await?;
        let row: Option<ScheduleRow> = self
            .fetch_optional(
                On::Tx(&mut tx),
                Sql::same(&format!(
                    "UPDATE schedules SET cron = $1, timezone = $2, job = $3, enabled = $4, \
                     next_run_at = $5, updated_at = $6 WHERE id = $7 AND user_id = $8 \
                     RETURNING {COLUMNS}"
                )),
                &[
                    cron.as_str().into(),
                    timezone.as_str().into(),
                    job.as_str().into(),
                    Arg::Bool(settings.enabled),
                    settings.next_run_at.into(),
                    now.into(),
                    id.into(),
                    user.into(),
                ],
            )
            .await?;
        self.commit(tx).await?;
        with_runs(self, row).await
    }

    async fn delete_schedule(&self, id: &str, user: &str) -> Result<bool, StoreError> {
        if unfindable(self, &[id, user]) {
            return Ok(false);
        }
        let mut tx = self.begin().await?;
        self.execute(
            &mut tx,
            Sql::same(
                "DELETE FROM schedule_runs WHERE schedule_id IN \
                 (SELECT id FROM schedules WHERE id = $1 AND user_id = $2)",
            ),
            &[id.into(), user.into()],
        )
        .await?;
        let n = self
            .execute(
                &mut tx,
                Sql::same("DELETE FROM schedules WHERE id = $1 AND user_id = $2"),
                &[id.into(), user.into()],
            )
            .await?;
        self.commit(tx).await?;
        Ok(n == 1)
    }

    async fn due_schedules(&self, now: Millis, limit: u32) -> Result<Vec<Schedule>, StoreError> {
        let rows: Vec<ScheduleRow> = self
            .fetch_all(On::Read, DUE, &[now.into(), i64::from(limit).into()])
            .await?;
        rows.into_iter()
            .map(|row| row.into_schedule(Vec::new()))
            .collect()
    }

    async fn schedule_ran(
        &self,
        id: &str,
        tick: Millis,
        next_run_at: Option<Millis>,
        outcome: TickOutcome,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let (job_id, error) = match &outcome {
            TickOutcome::Submitted { job_id } => (Some(job_id.clone()), None),
            TickOutcome::Refused { error } => (None, Some(storable(error))),
        };
        let mut tx = self.begin().await?;
        let moved = self
            .execute(
                &mut tx,
                Sql::same(
                    "UPDATE schedules SET next_run_at = $1, last_run_at = $2, \
                     last_job_id = COALESCE($3, last_job_id), last_error = $4, updated_at = $5 \
                     WHERE id = $6 AND next_run_at = $2 AND enabled = $7",
                ),
                &[
                    next_run_at.into(),
                    tick.into(),
                    job_id.as_deref().into(),
                    error.as_deref().into(),
                    now.into(),
                    id.into(),
                    Arg::Bool(true),
                ],
            )
            .await?;
        if moved != 1 {
            self.rollback(tx).await?;
            return Ok(false);
        }
        self.execute(
            &mut tx,
            Sql::same(
                "INSERT INTO schedule_runs (schedule_id, tick, ran_at, job_id, error) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (schedule_id, tick) DO NOTHING",
            ),
            &[
                id.into(),
                tick.into(),
                now.into(),
                job_id.as_deref().into(),
                error.as_deref().into(),
            ],
        )
        .await?;
        self.execute(
            &mut tx,
            Sql::same(
                "DELETE FROM schedule_runs WHERE schedule_id = $1 AND tick <= (SELECT tick \
                 FROM schedule_runs WHERE schedule_id = $1 ORDER BY tick DESC LIMIT 1 OFFSET $2)",
            ),
            &[id.into(), RUNS_KEPT.into()],
        )
        .await?;
        self.commit(tx).await?;
        Ok(true)
    }
}
