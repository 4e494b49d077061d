//! `docket submit` over tus: every file is a resumable upload, sent in checksummed chunks,
//! each acknowledged by the server only once it is on its disk; then one `POST /v1/jobs`
//! names the uploads. A dropped connection is ridden out by asking the server for the offset
//! and going on from there; a killed CLI is picked up by `--resume` from its state file.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::client::Client;
use crate::submit_state::{state_dir, state_file, FileState, SubmitState};
use crate::tus::AppendError;

/// How a resumable submit sends its files.
#[derive(Debug, Clone, Copy)]
pub struct SendPlan {
    /// Bytes per `PATCH`: each is one acknowledged step.
    pub chunk: usize,
    /// At most this many bytes per second (a slow link on purpose), if set.
    pub limit_rate: Option<u64>,
    /// Continue the interrupted submit of the same paths, if there is one.
    pub resume: bool,
    /// Consecutive failures of one file before the submit gives up.
    pub max_retries: u32,
}

/// Uploads `files` with tus and creates the job; answers it.
pub async fn submit(
    client: &Client,
    files: Vec<(PathBuf, String)>,
    options: Option<Value>,
    idempotency_key: Option<&str>,
    plan: SendPlan,
    show_bars: bool,
) -> anyhow::Result<Value> {
    let mut fresh = Vec::with_capacity(files.len());
    for (path, name) in files {
        let path = std::path::absolute(&path).unwrap_or(path);
        fresh.push(FileState::new(path, name)?);
    }
    let file = state_file(&state_dir(), &client.base, &fresh);
    let mut state = match SubmitState::load(&file)? {
        Some(old) if plan.resume => carry_over(old, fresh, options),
        Some(_) => {
            eprintln!(
                "note: an interrupted submit of these paths was started before; sending them \
                 again (run with --resume to continue it instead)"
            );
            new_state(client, fresh, options, idempotency_key)
        }
        None if plan.resume => {
            eprintln!("note: no interrupted submit of these paths to resume; starting it");
            new_state(client, fresh, options, idempotency_key)
        }
        None => new_state(client, fresh, options, idempotency_key),
    };
    state.save(&file)?;

    let bars = Bars::new(&state, show_bars);
    let mut limiter = RateLimit::new(plan.limit_rate);
    for index in 0..state.files.len() {
        if state.files[index].done {
            continue;
        }
        send_file(client, &mut state, index, &file, plan, &bars, &mut limiter).await?;
        bars.files.inc(1);
    }
    bars.finish();

    let uploads: Vec<String> = state
        .files
        .iter()
        .filter_map(|f| f.upload.as_deref())
        .filter_map(|u| u.rsplit('/').next())
        .map(str::to_string)
        .collect();
    let body = json!({
        "kind": "process",
        "source": {"uploads": uploads},
        "options": state.options.clone().unwrap_or(json!({})),
    });
    let request = client
        .http
        .post(client.url("/v1/jobs"))
        .header("Idempotency-Key", &state.idempotency_key)
        .json(&body);
    let job: Value = client.send(request).await?.json().await?;
    // The job exists (or was answered again): nothing is left to resume.
    let _ = std::fs::remove_file(&file);
    Ok(job)
}

fn new_state(
    client: &Client,
    files: Vec<FileState>,
    options: Option<Value>,
    key: Option<&str>,
) -> SubmitState {
    let key = key.map(str::to_string).unwrap_or_else(|| {
        format!(
            "submit-{}",
            docket_core::UploadId::generate()
                .as_str()
                .trim_start_matches("upl_")
        )
    });
    SubmitState {
        server: client.base.clone(),
        idempotency_key: key,
        options,
        files,
    }
}

/// The old state's uploads for the files that did not change; changed files start over.
fn carry_over(old: SubmitState, fresh: Vec<FileState>, options: Option<Value>) -> SubmitState {
    let files = fresh
        .into_iter()
        .map(|new| match old.files.iter().find(|o| o.same_file(&new)) {
            Some(o) => FileState {
                upload: o.upload.clone(),
                done: o.done,
                ..new
            },
            None => new,
        })
        .collect();
    SubmitState {
        options: options.or(old.options),
        files,
        ..old
    }
}

/// Sends one file from wherever its upload stands, to its end.
async fn send_file(
    client: &Client,
    state: &mut SubmitState,
    index: usize,
    state_path: &std::path::Path,
    plan: SendPlan,
    bars: &Bars,
    limiter: &mut RateLimit,
) -> anyhow::Result<()> {
    let entry = state.files[index].clone();
    let mut file = tokio::fs::File::open(&entry.path)
        .await
        .with_context(|| format!("opening {}", entry.path.display()))?;
    let mut failures = 0u32;
    let mut counted = 0u64;
    let mut offset: Option<u64> = None;
    loop {
        let upload = match state.files[index].upload.clone() {
            Some(upload) => upload,
            None => {
                let upload = client.tus_create(entry.size, &entry.name).await?;
                state.files[index].upload = Some(upload.clone());
                state.save(state_path)?;
                offset = Some(0);
                upload
            }
        };
        let at = match offset {
            Some(at) => at,
            None => match client.tus_offset(&upload).await {
                Ok(Some(at)) => at,
                Ok(None) => {
                    // Expired or terminated: start this file over.
                    state.files[index].upload = None;
                    continue;
                }
                Err(e) => {
                    failures = retry(failures, plan, &entry, e).await?;
                    continue;
                }
            },
        };
        bars.bytes.inc(at.saturating_sub(counted));
        counted = counted.max(at);
        if at >= entry.size {
            state.files[index].done = true;
            state.save(state_path)?;
            return Ok(());
        }
        let len = plan
            .chunk
            .min(usize::try_from(entry.size - at).unwrap_or(plan.chunk));
        let mut chunk = vec![0u8; len];
        file.seek(std::io::SeekFrom::Start(at)).await?;
        file.read_exact(&mut chunk)
            .await
            .with_context(|| format!("reading {} (did it change?)", entry.path.display()))?;
        limiter.wait(len as u64).await;
        match client.tus_append(&upload, at, Bytes::from(chunk)).await {
            Ok(next) => {
                failures = 0;
                offset = Some(next);
            }
            Err(AppendError::Gone) => {
                state.files[index].upload = None;
                offset = None;
            }
            Err(e) => {
                offset = None;
                failures = retry(failures, plan, &entry, e).await?;
            }
        }
    }
}

/// Waits before trying again (doubling, up to 10 s), or gives up after `max_retries`.
async fn retry(
    failures: u32,
    plan: SendPlan,
    entry: &FileState,
    error: AppendError,
) -> anyhow::Result<u32> {
    let why = match error {
        AppendError::Fatal(e) => bail!("sending {}: {e}", entry.path.display()),
        AppendError::Transient(e) => e.to_string(),
        AppendError::Resync(why) => why,
        AppendError::Gone => "the upload is gone".into(),
    };
    let failures = failures + 1;
    if failures > plan.max_retries {
        bail!(
            "sending {} failed {failures} times in a row ({why}); run the same command with \
             --resume to continue where it stopped",
            entry.path.display()
        );
    }
    let pause = Duration::from_millis(250 * 2u64.pow(failures.min(6))).min(Duration::from_secs(10));
    tracing::debug!(file = %entry.path.display(), %why, ?pause, "retrying after asking the offset");
    tokio::time::sleep(pause).await;
    Ok(failures)
}

/// One bar for bytes, one for files.
struct Bars {
    _multi: MultiProgress,
    bytes: ProgressBar,
    files: ProgressBar,
}

impl Bars {
    fn new(state: &SubmitState, show: bool) -> Bars {
        let multi = MultiProgress::new();
        let total: u64 = state.files.iter().map(|f| f.size).sum();
        let (bytes, files) = if show {
            (
                multi.add(ProgressBar::new(total)),
                multi.add(ProgressBar::new(state.files.len() as u64)),
            )
        } else {
            (ProgressBar::hidden(), ProgressBar::hidden())
        };
        bytes.set_style(
            ProgressStyle::with_template(
                "bytes [{bar:40.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        files.set_style(
            ProgressStyle::with_template("files [{bar:40.green/blue}] {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        files.set_position(state.files.iter().filter(|f| f.done).count() as u64);
        Bars {
            _multi: multi,
            bytes,
            files,
        }
    }

    fn finish(&self) {
        self.bytes.finish_and_clear();
        self.files.finish_and_clear();
    }
}

/// Keeps the bytes sent under `rate` per second, on average since the start.
struct RateLimit {
    rate: Option<u64>,
    started: Instant,
    sent: u64,
}

impl RateLimit {
    fn new(rate: Option<u64>) -> RateLimit {
        RateLimit {
            rate: rate.filter(|r| *r > 0),
            started: Instant::now(),
            sent: 0,
        }
    }

    async fn wait(&mut self, bytes: u64) {
        self.sent += bytes;
        if let Some(rate) = self.rate {
            let due = Duration::from_secs_f64(self.sent as f64 / rate as f64);
            if let Some(pause) = due.checked_sub(self.started.elapsed()) {
                tokio::time::sleep(pause).await;
            }
        }
    }
}
