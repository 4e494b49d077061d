//! `docket schedules`: recurring jobs — a cron expression in a time zone and the job each
//! tick submits.

use serde_json::{json, Value};

use crate::client::Client;

/// What `docket schedules add` asks for.
pub struct NewSchedule {
    pub cron: String,
    pub timezone: String,
    /// A folder on the server for a `process` job (made absolute against the current
    /// directory, as the server only takes absolute paths).
    pub path: Option<std::path::PathBuf>,
    /// Or a synthetic `noop` job of this many items.
    pub noop: Option<u64>,
    pub options: Option<String>,
    pub paused: bool,
}

pub async fn ls(c: &Client, json: bool) -> anyhow::Result<()> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/schedules?limit=100&cursor={cursor}"),
            None => "/v1/schedules?limit=100".to_owned(),
        };
        let page = c.get_json(&path).await?;
        all.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    if json {
        println!("{}", Value::Array(all));
        return Ok(());
    }
    if all.is_empty() {
        println!("no schedules");
        return Ok(());
    }
    println!(
        "{:<36} {:<7} {:<16} {:<16} {:<25} {:<25} JOB",
        "ID", "STATE", "CRON", "TIMEZONE", "NEXT RUN", "LAST RUN"
    );
    for s in &all {
        println!(
            "{:<36} {:<7} {:<16} {:<16} {:<25} {:<25} {}",
            text(&s["id"]),
            if s["enabled"].as_bool() == Some(true) {
                "active"
            } else {
                "paused"
            },
            text(&s["cron"]),
            text(&s["timezone"]),
            text(&s["next_run_at"]),
            text(&s["last_run_at"]),
            describe_job(&s["job"]),
        );
    }
    Ok(())
}

pub async fn show(c: &Client, id: &str, json: bool) -> anyhow::Result<()> {
    let s = c.get_json(&format!("/v1/schedules/{id}")).await?;
    print_one(&s, json);
    Ok(())
}

pub async fn add(c: &Client, new: NewSchedule, json: bool) -> anyhow::Result<()> {
    let options: Value = match &new.options {
        Some(text) => {
            serde_json::from_str(text).map_err(|e| anyhow::anyhow!("--options is not JSON: {e}"))?
        }
        None => Value::Null,
    };
    let job = match (new.path, new.noop) {
        (Some(path), None) => {
            let path = std::path::absolute(&path)?;
            json!({"kind": "process", "source": {"path": path}, "options": options})
        }
        (None, Some(count)) => {
            json!({"kind": "noop", "source": {"count": count}, "options": options})
        }
        _ => anyhow::bail!("give a folder on the server, or --noop N"),
    };
    let body = json!({
        "cron": new.cron,
        "timezone": new.timezone,
        "job": job,
        "enabled": !new.paused,
    });
    let s = c.post_json("/v1/schedules", Some(&body)).await?;
    print_one(&s, json);
    Ok(())
}

/// Pauses (`enabled = false`) or resumes a schedule.
pub async fn enable(c: &Client, id: &str, enabled: bool, json: bool) -> anyhow::Result<()> {
    let s = c
        .patch_json(&format!("/v1/schedules/{id}"), &json!({"enabled": enabled}))
        .await?;
    print_one(&s, json);
    Ok(())
}

pub async fn rm(c: &Client, id: &str, json: bool) -> anyhow::Result<()> {
    c.delete(&format!("/v1/schedules/{id}")).await?;
    if json {
        println!("{}", json!({"id": id, "deleted": true}));
    } else {
        println!("deleted {id}");
    }
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn describe_job(job: &Value) -> String {
    match job["kind"].as_str() {
        Some("process") => format!("process {}", text(&job["source"]["path"])),
        Some("noop") => format!("noop ×{}", text(&job["source"]["count"])),
        _ => text(&job["kind"]),
    }
}

fn print_one(s: &Value, json: bool) {
    if json {
        println!("{s}");
        return;
    }
    println!("schedule  {}", text(&s["id"]));
    println!(
        "state     {}",
        if s["enabled"].as_bool() == Some(true) {
            "active"
        } else {
            "paused"
        }
    );
    println!("cron      {} ({})", text(&s["cron"]), text(&s["timezone"]));
    println!("job       {}", describe_job(&s["job"]));
    println!("next run  {}", text(&s["next_run_at"]));
    println!("last run  {}", text(&s["last_run_at"]));
    if !s["last_error"].is_null() {
        println!("error     {}", text(&s["last_error"]));
    }
    let runs = s["runs"].as_array().cloned().unwrap_or_default();
    if !runs.is_empty() {
        println!("runs:");
        for r in runs {
            let what = if r["job_id"].is_null() {
                format!("no job: {}", text(&r["error"]))
            } else {
                format!("{} {}", text(&r["job_id"]), text(&r["job_state"]))
            };
            println!("  {}  {}", text(&r["tick"]), what);
        }
    }
}
