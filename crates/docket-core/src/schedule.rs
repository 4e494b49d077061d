//! Recurring jobs: when a schedule's ticks fall (a cron expression read in a time zone) and
//! what each tick submits. Pure: the store keeps schedules, the application runs them.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use serde::{Deserialize, Serialize};

use crate::{CoreError, JobKind, JobState, Millis};

/// When a schedule's ticks fall: a cron expression (five fields, or six with seconds first;
/// `@daily` and the other aliases too) in an IANA time zone, so "02:00 in Europe/Paris" stays
/// 02:00 across daylight-saving changes.
#[derive(Debug, Clone)]
pub struct Cadence {
    cron: Cron,
    zone: Tz,
}

impl Cadence {
    /// Parses both fields; an error names the one that is wrong.
    pub fn parse(cron: &str, timezone: &str) -> Result<Cadence, CoreError> {
        let zone = Tz::from_str(timezone.trim()).map_err(|_| CoreError::InvalidSchedule {
            field: "timezone",
            reason: format!(
                "`{timezone}` is not an IANA time zone name (such as `UTC` or `Europe/Paris`)"
            ),
        })?;
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(cron.trim())
            .map_err(|e| CoreError::InvalidSchedule {
                field: "cron",
                reason: format!("`{cron}` is not a cron expression: {e}"),
            })?;
        // A pattern that never matches (`0 0 30 2 *`) would make a schedule that never runs.
        let cadence = Cadence { cron, zone };
        if cadence.next_after(crate::now_millis()).is_none() {
            return Err(CoreError::InvalidSchedule {
                field: "cron",
                reason: format!("`{}` never matches a date", cadence.cron.as_str()),
            });
        }
        Ok(cadence)
    }

    /// The first tick strictly after `after`; `None` if there is none (or it is out of range).
    pub fn next_after(&self, after: Millis) -> Option<Millis> {
        let at: DateTime<Tz> =
            DateTime::<Utc>::from_timestamp_millis(after)?.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&at, false)
            .ok()
            .map(|t| t.timestamp_millis())
    }

    /// The ticks strictly after `after` and at most `until`, at most `limit` of them.
    pub fn ticks_between(&self, after: Millis, until: Millis, limit: usize) -> Vec<Millis> {
        let mut ticks = Vec::new();
        let mut at = after;
        while ticks.len() < limit {
            match self.next_after(at) {
                Some(t) if t <= until => {
                    ticks.push(t);
                    at = t;
                }
                _ => break,
            }
        }
        ticks
    }
}

/// What each tick of a schedule submits: the body of a JSON `POST /v1/jobs`. Only jobs whose
/// source can be listed again at every tick make sense here: a `process` job over a server
/// folder, or a synthetic `noop` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JobTemplate {
    pub kind: JobKind,
    pub source: TemplateSource,
    /// The job's options, as for a submit (checked when the schedule is saved, and again at
    /// every tick).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::JobOptions>))]
    pub options: serde_json::Value,
}

/// Where a scheduled job's items come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateSource {
    /// A folder on the server (under an allowed root), for `process`: listed again at every
    /// tick; with deduplication only new or changed files are processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For `noop`: how many items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// For `noop`: milliseconds per item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sleep_ms: Option<u64>,
}

impl JobTemplate {
    /// The shape checks that need nothing but the template: a kind a schedule can submit, and
    /// the source fields that kind takes.
    pub fn check_shape(&self) -> Result<(), CoreError> {
        let s = &self.source;
        let bad =
            |field: &'static str, reason: String| CoreError::InvalidSchedule { field, reason };
        match self.kind {
            JobKind::Process => {
                if s.count.is_some() || s.sleep_ms.is_some() {
                    return Err(bad(
                        "job.source",
                        "a `process` job takes only `source.path`".into(),
                    ));
                }
                match &s.path {
                    Some(p) if !p.trim().is_empty() => Ok(()),
                    _ => Err(bad(
                        "job.source.path",
                        "a scheduled `process` job needs a folder on the server (uploads are \
                         consumed by one job and cannot recur)"
                            .into(),
                    )),
                }
            }
            JobKind::Noop => {
                if s.path.is_some() {
                    return Err(bad(
                        "job.source",
                        "a `noop` job takes `source.count` and `source.sleep_ms`".into(),
                    ));
                }
                Ok(())
            }
            other => Err(bad(
                "job.kind",
                format!("a schedule submits `process` or `noop` jobs, not `{other}`"),
            )),
        }
    }

    /// The idempotency key of the job of the tick at `tick`: the database refuses a second
    /// job with it, so a tick makes one job however many processes race for it.
    pub fn tick_key(schedule_id: &str, tick: Millis) -> String {
        format!("schedule:{schedule_id}:{tick}")
    }
}

/// A schedule to create (`POST /v1/schedules`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"cron": "0 2 * * *", "timezone": "Europe/Paris",
    "job": {"kind": "noop", "source": {"count": 2, "sleep_ms": 1}, "options": {"priority": "low"}}})))]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// Five fields (minute hour day month weekday), six with seconds first, or an alias
    /// (`@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`).
    pub cron: String,
    /// An IANA time zone name; `UTC` if absent.
    #[serde(default = "utc")]
    pub timezone: String,
    pub job: JobTemplate,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

/// A change to a schedule (`PATCH /v1/schedules/{id}`); absent fields stay as they are.
/// `enabled: false` pauses it (ticks that fall while paused do not run), `true` resumes it
/// from the next tick.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"enabled": false})))]
#[serde(deny_unknown_fields)]
pub struct ScheduleChange {
    #[serde(default)]
    pub cron: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub job: Option<JobTemplate>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A recurring job (`/v1/schedules/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    pub id: String,
    /// The owner: never sent.
    #[serde(skip)]
    pub user: String,
    pub cron: String,
    pub timezone: String,
    pub job: JobTemplate,
    pub enabled: bool,
    #[serde(with = "crate::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Millis,
    #[serde(with = "crate::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Millis,
    /// The next tick; `null` while the schedule is paused.
    #[serde(with = "crate::time::as_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, required = true))]
    pub next_run_at: Option<Millis>,
    /// The last tick that ran (made its job, or failed to).
    #[serde(with = "crate::time::as_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, required = true))]
    pub last_run_at: Option<Millis>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_job_id: Option<String>,
    /// Why the last tick made no job (its folder is gone, …), if it did not.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_error: Option<String>,
    /// The latest runs, newest first.
    pub runs: Vec<ScheduleRun>,
}

/// One tick of a schedule and the job it made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleRun {
    #[serde(with = "crate::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub tick: Millis,
    #[serde(with = "crate::time::as_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub ran_at: Millis,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub job_id: Option<String>,
    /// The job's state now; `null` once the job is deleted (or if none was made).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub job_state: Option<JobState>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Millis {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn ticks_follow_the_zone_across_daylight_saving() {
        let nightly = Cadence::parse("0 2 * * *", "Europe/Paris").unwrap();
        // Winter: 02:00 in Paris is 01:00 UTC; summer: 00:00 UTC.
        assert_eq!(
            nightly.next_after(at("2026-01-10T12:00:00Z")),
            Some(at("2026-01-11T01:00:00Z"))
        );
        assert_eq!(
            nightly.next_after(at("2026-07-10T12:00:00Z")),
            Some(at("2026-07-11T00:00:00Z"))
        );
        let utc = Cadence::parse("*/15 * * * *", "UTC").unwrap();
        assert_eq!(
            utc.ticks_between(at("2026-01-01T00:00:00Z"), at("2026-01-01T01:00:00Z"), 10),
            vec![
                at("2026-01-01T00:15:00Z"),
                at("2026-01-01T00:30:00Z"),
                at("2026-01-01T00:45:00Z"),
                at("2026-01-01T01:00:00Z")
            ]
        );
    }

    #[test]
    fn seconds_and_aliases() {
        let every_second = Cadence::parse("* * * * * *", "UTC").unwrap();
        assert_eq!(every_second.next_after(1_000), Some(2_000));
        assert_eq!(every_second.next_after(1_500), Some(2_000));
        let daily = Cadence::parse("@daily", "UTC").unwrap();
        assert_eq!(
            daily.next_after(at("2026-03-01T10:00:00Z")),
            Some(at("2026-03-02T00:00:00Z"))
        );
    }

    #[test]
    fn errors_name_the_field() {
        let field = |cron, tz| match Cadence::parse(cron, tz) {
            Err(CoreError::InvalidSchedule { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field("0 2 * * *", "Mars/Olympus"), "timezone");
        assert_eq!(field("61 * * * *", "UTC"), "cron");
        assert_eq!(field("not cron", "UTC"), "cron");
        assert_eq!(field("0 0 30 2 *", "UTC"), "cron");
    }

    #[test]
    fn templates_a_schedule_can_submit() {
        let t = |v: serde_json::Value| {
            serde_json::from_value::<JobTemplate>(v)
                .unwrap()
                .check_shape()
        };
        assert!(
            t(serde_json::json!({"kind": "process", "source": {"path": "/srv/scans"}})).is_ok()
        );
        assert!(t(serde_json::json!({"kind": "noop", "source": {"count": 3}})).is_ok());
        assert!(t(serde_json::json!({"kind": "process", "source": {}})).is_err());
        assert!(t(serde_json::json!({"kind": "reindex", "source": {}})).is_err());
        assert!(serde_json::from_value::<JobTemplate>(
            serde_json::json!({"kind": "process", "source": {"uploads": ["upl_1"]}})
        )
        .is_err());
    }
}
