//! Schedules: recurring jobs, checked when they are saved as a submit would be, so a tick
//! fails only for what changed since (a folder that went away).

use std::path::PathBuf;
use std::sync::Arc;

use docket_core::{
    Cadence, ErrorCode, JobKind, JobOptions, JobTemplate, Millis, Schedule, ScheduleChange,
    ScheduleId, ScheduleRequest,
};
use docket_store::{Created, NewSchedule, ScheduleSettings};

use crate::submission::NOOP_MAX_ITEMS;
use crate::{check_ocr_provider, ConfiguredRemote, NoopSpec, ServiceError, Submission};

/// How many schedules one page lists at most.
pub const SCHEDULES_PAGE_MAX: u32 = 100;

#[derive(Clone)]
pub struct Schedules {
    submission: Submission,
    remotes: Arc<Vec<ConfiguredRemote>>,
}

fn invalid(e: docket_core::CoreError) -> ServiceError {
    ServiceError::refused(ErrorCode::InvalidSchedule, e.to_string())
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::refused(ErrorCode::NotFound, format!("no schedule {id}"))
}

impl Schedules {
    pub fn new(submission: Submission, remotes: Arc<Vec<ConfiguredRemote>>) -> Schedules {
        Schedules {
            submission,
            remotes,
        }
    }

    pub async fn create(
        &self,
        user: &str,
        request: ScheduleRequest,
        now: Millis,
    ) -> Result<Schedule, ServiceError> {
        let cadence = self
            .check(&request.cron, &request.timezone, &request.job)
            .await?;
        let settings = ScheduleSettings {
            next_run_at: request.enabled.then(|| cadence.next_after(now)).flatten(),
            cron: request.cron.trim().to_owned(),
            timezone: request.timezone.trim().to_owned(),
            job: request.job,
            enabled: request.enabled,
        };
        let new = NewSchedule {
            id: ScheduleId::generate().to_string(),
            user: user.to_owned(),
            settings,
        };
        Ok(self.submission.store().create_schedule(new, now).await?)
    }

    pub async fn get(&self, user: &str, id: &str) -> Result<Schedule, ServiceError> {
        self.submission
            .store()
            .schedule(id, user)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// `user`'s schedules after the id `after`, at most `limit` (capped).
    pub async fn list(
        &self,
        user: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Schedule>, ServiceError> {
        let limit = limit.clamp(1, SCHEDULES_PAGE_MAX);
        Ok(self
            .submission
            .store()
            .schedules(user, after, limit)
            .await?)
    }

    /// Applies `change`. The next tick is computed again when the cadence changes or the
    /// schedule is resumed: ticks that fell while it was paused do not run.
    pub async fn change(
        &self,
        user: &str,
        id: &str,
        change: ScheduleChange,
        now: Millis,
    ) -> Result<Schedule, ServiceError> {
        if change == ScheduleChange::default() {
            return Err(ServiceError::refused(
                ErrorCode::InvalidSchedule,
                "nothing to change: give `cron`, `timezone`, `job` or `enabled`",
            ));
        }
        let current = self.get(user, id).await?;
        let retimed = change.cron.is_some()
            || change.timezone.is_some()
            || (change.enabled == Some(true) && !current.enabled);
        let cron = change.cron.unwrap_or(current.cron);
        let timezone = change.timezone.unwrap_or(current.timezone);
        let job = change.job.unwrap_or(current.job);
        let enabled = change.enabled.unwrap_or(current.enabled);
        let cadence = self.check(&cron, &timezone, &job).await?;
        let next_run_at = match (enabled, retimed) {
            (false, _) => current.next_run_at,
            (true, true) => cadence.next_after(now),
            (true, false) => current.next_run_at,
        };
        let settings = ScheduleSettings {
            cron: cron.trim().to_owned(),
            timezone: timezone.trim().to_owned(),
            job,
            enabled,
            next_run_at,
        };
        self.submission
            .store()
            .update_schedule(id, user, settings, now)
            .await?
            .ok_or_else(|| not_found(id))
    }

    pub async fn delete(&self, user: &str, id: &str) -> Result<(), ServiceError> {
        if self.submission.store().delete_schedule(id, user).await? {
            Ok(())
        } else {
            Err(not_found(id))
        }
    }

    /// Everything a tick's submit would check, checked now; an error names the field.
    async fn check(
        &self,
        cron: &str,
        timezone: &str,
        job: &JobTemplate,
    ) -> Result<Cadence, ServiceError> {
        let cadence = Cadence::parse(cron, timezone).map_err(invalid)?;
        job.check_shape().map_err(invalid)?;
        let options = template_options(job)?;
        check_ocr_provider(&options, &self.remotes)?;
        self.submission
            .check_options(&options)
            .await
            .map_err(|e| about("`job.options`", e))?;
        match job.kind {
            JobKind::Process => {
                let path = job.source.path.clone().unwrap_or_default();
                self.submission
                    .check_folder(PathBuf::from(path))
                    .await
                    .map_err(|e| about("`job.source.path`", e))?;
            }
            _ => {
                if !job
                    .source
                    .count
                    .is_some_and(|c| (1..=NOOP_MAX_ITEMS).contains(&c))
                {
                    return Err(invalid(docket_core::CoreError::InvalidSchedule {
                        field: "job.source.count",
                        reason: format!("a `noop` job needs between 1 and {NOOP_MAX_ITEMS} items"),
                    }));
                }
            }
        }
        Ok(cadence)
    }
}

/// A refusal whose detail starts with what it is about.
fn about(what: &str, e: ServiceError) -> ServiceError {
    match e {
        ServiceError::Refused { code, detail } => {
            ServiceError::refused(code, format!("{what}: {detail}"))
        }
        other => other,
    }
}

/// The template's options as a submit reads them (absent options are the defaults).
fn template_options(job: &JobTemplate) -> Result<JobOptions, ServiceError> {
    if job.options.is_null() {
        return Ok(JobOptions::default());
    }
    JobOptions::from_json(&job.options).map_err(|e| {
        ServiceError::refused(ErrorCode::InvalidOptions, format!("`job.options`: {e}"))
    })
}

impl Submission {
    /// The job of one tick of a schedule, submitted under the tick's idempotency key: a
    /// second submit of the same tick (another process, a retry) answers the first job.
    pub async fn scheduled(
        &self,
        user: &str,
        job: &JobTemplate,
        key: String,
    ) -> Result<Created, ServiceError> {
        job.check_shape().map_err(invalid)?;
        let options = template_options(job)?;
        match job.kind {
            JobKind::Process => {
                let path = job.source.path.clone().unwrap_or_default();
                self.folder(user, PathBuf::from(&path), options, Some(key))
                    .await
                    .map_err(|e| about(&path, e))
            }
            _ => {
                let spec = NoopSpec {
                    count: job.source.count,
                    sleep_ms: job.source.sleep_ms,
                };
                self.noop(user, spec, options, Some(key)).await
            }
        }
    }
}
