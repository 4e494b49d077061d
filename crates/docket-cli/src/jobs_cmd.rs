//! `docket submit`, `docket jobs …`: talk to a server over HTTP.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::client::Client;

/// Every regular file under the given paths, with the name it is submitted under.
fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_file() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((path.clone(), name));
            continue;
        }
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            let entry = entry?;
            if entry.file_type().is_file() {
                let rel = entry.path().strip_prefix(path).unwrap_or(entry.path());
                files.push((entry.path().to_path_buf(), rel.display().to_string()));
            }
        }
    }
    anyhow::ensure!(!files.is_empty(), "no files found under the given paths");
    Ok(files)
}

pub async fn submit(
    client: &Client,
    paths: &[PathBuf],
    options: Option<&str>,
    idempotency_key: Option<&str>,
    resumable: Option<crate::resumable_submit::SendPlan>,
    watch_it: bool,
    json: bool,
) -> anyhow::Result<()> {
    let options: Option<Value> = options
        .map(serde_json::from_str)
        .transpose()
        .context("--options must be JSON, e.g. '{\"max_workers\": 2}'")?;
    let files = collect(paths)?;
    let count = files.len();
    let job = match resumable {
        Some(plan) => {
            crate::resumable_submit::submit(client, files, options, idempotency_key, plan, !json)
                .await?
        }
        None => {
            client
                .submit(files, options.as_ref(), idempotency_key)
                .await?
        }
    };
    let id = job["id"].as_str().unwrap_or_default().to_string();
    if json && !watch_it {
        println!("{job}");
        return Ok(());
    }
    if !json {
        println!("submitted {count} files as {id}");
    }
    if watch_it {
        watch(client, &id, json).await?;
    }
    Ok(())
}

/// Live progress bars until the job finishes.
pub async fn watch(client: &Client, id: &str, json: bool) -> anyhow::Result<()> {
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40.cyan/blue}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    loop {
        let job = client.get_json(&format!("/v1/jobs/{id}")).await?;
        let c = &job["counts"];
        let n = |k: &str| c[k].as_u64().unwrap_or(0);
        bar.set_length(n("total"));
        bar.set_position(n("succeeded") + n("failed") + n("cancelled"));
        let eta = job["eta_seconds"]
            .as_i64()
            .map(|s| format!(" eta {s}s"))
            .unwrap_or_default();
        let paused = match job["pause_reason"].as_str() {
            Some(r) => format!(" paused ({r})"),
            None => String::new(),
        };
        bar.set_message(format!(
            "{} ok {} failed {} running {:.1}/s{eta}{paused}",
            n("succeeded"),
            n("failed"),
            n("running"),
            job["items_per_second"].as_f64().unwrap_or(0.0)
        ));
        let state = job["state"].as_str().unwrap_or("");
        if matches!(state, "completed" | "failed" | "cancelled") {
            bar.finish_and_clear();
            if json {
                println!("{job}");
            } else {
                println!(
                    "{id} {state}: {} succeeded, {} failed, {} cancelled",
                    n("succeeded"),
                    n("failed"),
                    n("cancelled")
                );
                if let Some(e) = job["error"].as_str() {
                    println!("error: {e}");
                }
            }
            // Scripts tell outcomes apart by the exit code.
            anyhow::ensure!(state == "completed", "job {id} ended {state}");
            return Ok(());
        }
        bar.tick();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn line(job: &Value) -> String {
    let c = &job["counts"];
    format!(
        "{:<37} {:<10} {:>6.1}% {:>7}/{:<7} {:>5} failed  {}",
        job["id"].as_str().unwrap_or(""),
        job["state"].as_str().unwrap_or(""),
        job["progress"].as_f64().unwrap_or(0.0),
        c["succeeded"].as_u64().unwrap_or(0)
            + c["failed"].as_u64().unwrap_or(0)
            + c["cancelled"].as_u64().unwrap_or(0),
        c["total"].as_u64().unwrap_or(0),
        c["failed"].as_u64().unwrap_or(0),
        job["created_at"].as_str().unwrap_or(""),
    )
}

pub async fn ls(
    client: &Client,
    state: Option<&str>,
    limit: usize,
    json: bool,
) -> anyhow::Result<()> {
    let mut path = format!("/v1/jobs?limit={limit}");
    if let Some(s) = state {
        path.push_str(&format!("&state={s}"));
    }
    let page = client.get_json(&path).await?;
    if json {
        println!("{page}");
        return Ok(());
    }
    let jobs = page["items"].as_array().cloned().unwrap_or_default();
    if jobs.is_empty() {
        println!("no jobs");
    }
    for job in &jobs {
        println!("{}", line(job));
    }
    Ok(())
}

pub fn print_job(job: &Value, json: bool) {
    if json {
        println!("{job}");
        return;
    }
    println!("{}", line(job));
    let c = &job["counts"];
    println!(
        "  pending {} running {} retrying {} succeeded {} failed {} cancelled {}",
        c["pending"], c["running"], c["retrying"], c["succeeded"], c["failed"], c["cancelled"]
    );
    if let Some(r) = job["pause_reason"].as_str() {
        println!("  paused: {r}");
    }
    let options = &job["options"];
    let cap = options["max_workers"]
        .as_u64()
        .map_or("no cap".to_string(), |n| format!("at most {n} at once"));
    println!(
        "  priority {}, {cap}",
        options["priority"].as_str().unwrap_or("normal")
    );
    if let Some(t) = options["not_before"].as_str() {
        println!("  not before: {t}");
    }
    if let Some(e) = job["error"].as_str() {
        println!("  error: {e}");
    }
    if let Some(items) = job["current_items"].as_array().filter(|i| !i.is_empty()) {
        let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
        println!("  working on: {}", names.join(", "));
    }
}

pub async fn control(client: &Client, id: &str, action: &str, json: bool) -> anyhow::Result<()> {
    let job = client
        .post_json(&format!("/v1/jobs/{id}/{action}"), None)
        .await?;
    print_job(&job, json);
    Ok(())
}

/// `PATCH /v1/jobs/{id}`: a new priority or worker cap.
pub async fn change(client: &Client, id: &str, change: &Value, json: bool) -> anyhow::Result<()> {
    let job = client.patch_json(&format!("/v1/jobs/{id}"), change).await?;
    print_job(&job, json);
    Ok(())
}

pub async fn results(
    client: &Client,
    id: &str,
    format: &str,
    include: Option<&str>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let mut url = reqwest::Url::parse("http://x/")?;
    url.set_path(&format!("/v1/jobs/{id}/results"));
    {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("format", format);
        if let Some(include) = include {
            pairs.append_pair("include", include);
        }
    }
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let response = client.get_raw(&path).await?;
    let mut stream = response.bytes_stream();
    let Some(out) = out else {
        let mut stdout = tokio::io::stdout();
        while let Some(chunk) = stream.next().await {
            stdout.write_all(&chunk?).await?;
        }
        stdout.flush().await?;
        return Ok(());
    };
    // Into a temporary file beside the target, renamed only once the body is complete: a
    // broken transfer leaves no complete-looking file (the temporary one is removed on drop).
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".docket-download-")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let mut file = tokio::fs::File::from_std(
        temp.reopen()
            .with_context(|| format!("opening {}", temp.path().display()))?,
    );
    // Bytes and rate: the total is unknown while the server streams. (indicatif draws only
    // on a terminal.)
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bytes} written, {binary_bytes_per_sec} ({elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("the download broke off")?;
        file.write_all(&chunk).await?;
        written += chunk.len() as u64;
        bar.set_position(written);
    }
    file.flush().await?;
    file.sync_all().await?;
    drop(file);
    temp.persist(out)
        .with_context(|| format!("writing {}", out.display()))?;
    bar.finish_and_clear();
    eprintln!("{} bytes written to {}", written, out.display());
    Ok(())
}

pub async fn search(
    client: &Client,
    query: &str,
    category: Option<&str>,
    job: Option<&str>,
    limit: usize,
    json: bool,
) -> anyhow::Result<()> {
    let mut url = reqwest::Url::parse("http://x/v1/search")?;
    {
        let mut pairs = url.query_pairs_mut();
        pairs
            .append_pair("q", query)
            .append_pair("limit", &limit.to_string());
        if let Some(c) = category {
            pairs.append_pair("category", c);
        }
        if let Some(j) = job {
            pairs.append_pair("job", j);
        }
    }
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let answer = client.get_json(&path).await?;
    if json {
        println!("{answer}");
        return Ok(());
    }
    let hits = answer["hits"].as_array().cloned().unwrap_or_default();
    println!("{} matching documents", answer["total"]);
    for hit in hits {
        let snippet = hit["snippet"]
            .as_str()
            .unwrap_or("")
            .replace("<mark>", "\x1b[1m")
            .replace("</mark>", "\x1b[0m");
        println!(
            "{:<38} {:>7.3}  {}{}\n    {}",
            hit["document_id"].as_str().unwrap_or(""),
            hit["score"].as_f64().unwrap_or(0.0),
            hit["name"].as_str().unwrap_or(""),
            hit["category"]
                .as_str()
                .map(|c| format!("  [{c}]"))
                .unwrap_or_default(),
            snippet.replace('\n', " ")
        );
    }
    Ok(())
}

/// `docket publish JOB --target NAME`: starts a `publish` job, and follows it with `--watch`.
pub async fn publish(
    client: &Client,
    job: &str,
    target: &str,
    mode: Option<&str>,
    watch_it: bool,
    json: bool,
) -> anyhow::Result<()> {
    let mut body = serde_json::json!({"target": target});
    if let Some(mode) = mode {
        body["mode"] = Value::from(mode);
    }
    let created = client
        .post_json(&format!("/v1/jobs/{job}/publish"), Some(&body))
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_string();
    if json && !watch_it {
        println!("{created}");
        return Ok(());
    }
    if !json {
        println!("publishing {job} to {target} as {id}");
    }
    if watch_it {
        watch(client, &id, json).await?;
        if !json {
            let done = client.get_json(&format!("/v1/jobs/{id}")).await?;
            if let Some(page) = done["result"]["process_url"].as_str() {
                println!(
                    "AMI set {} is READY: process it at {page}",
                    done["result"]["set_uuid"].as_str().unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
