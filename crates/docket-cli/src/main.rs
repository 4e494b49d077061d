//! `docket`: the one binary. Commands parse arguments and call into the library crates.

mod bench;
mod client;
mod config;
mod jobs_cmd;
mod private_files;
mod remotes_cmd;
mod resumable_submit;
mod run;
mod schedules_cmd;
mod serve;
mod submit_state;
mod token_cmd;
mod tus;
mod webhooks;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "docket",
    version,
    about = "Bulk document processing as durable jobs"
)]
struct Cli {
    /// Configuration file (default: ./docket.toml if it exists).
    #[arg(long, global = true, env = "DOCKET_CONFIG")]
    config: Option<PathBuf>,
    /// Print machine-readable JSON instead of human output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and dashboard, with a worker pool unless `workers = 0`.
    Serve,
    /// Run workers only (for scale-out against PostgreSQL).
    Worker,
    /// Upload files (folders are walked) as one `process` job.
    Submit {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Job options as JSON, e.g. '{"max_workers": 2}'.
        #[arg(long)]
        options: Option<String>,
        /// Makes a retried submit return the first job instead of a second one.
        #[arg(long)]
        idempotency_key: Option<String>,
        /// Show live progress until the job finishes.
        #[arg(long)]
        watch: bool,
        /// Continue the interrupted submit of the same paths (a killed CLI, a lost
        /// connection) from what the server already has.
        #[arg(long)]
        resume: bool,
        /// Send everything in one multipart request instead of resumable (tus) uploads.
        #[arg(long, conflicts_with = "resume")]
        multipart: bool,
        /// Bytes per resumable upload request; each is acknowledged once on the server's disk.
        #[arg(long, default_value_t = 8 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024))]
        chunk_size: u64,
        /// Send at most this many bytes per second.
        #[arg(long)]
        limit_rate: Option<u64>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List and control jobs.
    Jobs {
        #[command(subcommand)]
        what: JobsCommand,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Publish a finished job's documents to a configured Archipelago target.
    Publish {
        /// The job whose succeeded documents to publish.
        job: String,
        /// A target from the server's `[publish.targets.NAME]`.
        #[arg(long)]
        target: String,
        /// `objects` (one digital object per document) or `ami_set` (one AMI set); default:
        /// the target's own mode.
        #[arg(long, value_parser = ["objects", "ami_set"])]
        mode: Option<String>,
        /// Show live progress until the publish job finishes.
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Recurring jobs: a cron expression in a time zone, and the job each tick submits.
    Schedules {
        #[command(subcommand)]
        what: SchedulesCommand,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The server's remotes (OCR providers, publish targets): up or down, since when, the
    /// last error.
    Remotes {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Full-text search over your documents.
    Search {
        query: String,
        #[arg(long)]
        category: Option<String>,
        /// Only documents of this job.
        #[arg(long)]
        job: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Manage API tokens (directly on the database).
    Token {
        #[command(subcommand)]
        what: TokenCommand,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Measure the engine on the real database.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// The extractor child process that workers start: requests on stdin, answers on stdout.
    #[command(hide = true)]
    Extractor,
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Server URL (default: DOCKET_SERVER or http://127.0.0.1:8080).
    #[arg(long, global = true)]
    server: Option<String>,
    /// API token (default: DOCKET_TOKEN, the config, or ./data/token).
    #[arg(long, global = true)]
    token: Option<String>,
}

#[derive(Subcommand)]
enum SchedulesCommand {
    /// Your schedules, with their next and last run.
    Ls,
    /// One schedule, with the jobs its latest ticks made.
    Show { id: String },
    /// Add a schedule: at every tick of CRON, process PATH (a folder on the server; only new
    /// or changed files are processed again) or, with --noop N, make N synthetic items.
    Add {
        /// Five fields (minute hour day month weekday), six with seconds first, or @daily, …
        #[arg(long)]
        cron: String,
        /// An IANA time zone, e.g. Europe/Paris.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// A folder on the server.
        #[arg(required_unless_present = "noop")]
        path: Option<PathBuf>,
        #[arg(long, conflicts_with = "path")]
        noop: Option<u64>,
        /// Job options as JSON, e.g. '{"priority": "low"}'.
        #[arg(long)]
        options: Option<String>,
        /// Create it paused.
        #[arg(long)]
        paused: bool,
    },
    /// Pause a schedule: its ticks do not run until it is resumed.
    Pause { id: String },
    /// Resume a schedule from its next tick.
    Resume { id: String },
    /// Delete a schedule (the jobs it made stay).
    Rm { id: String },
}

#[derive(Subcommand)]
enum JobsCommand {
    Ls {
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    Show {
        id: String,
    },
    /// Follow a job's progress until it finishes.
    Watch {
        id: String,
    },
    Pause {
        id: String,
    },
    Resume {
        id: String,
    },
    Cancel {
        id: String,
    },
    /// Change an unfinished job's priority: running jobs share the workers 1 : 2 : 4.
    Priority {
        id: String,
        #[arg(value_parser = ["low", "normal", "high"])]
        priority: String,
    },
    /// Change how many of an unfinished job's items may run at once (`none`: no cap).
    Workers {
        id: String,
        /// A number of at least 1, or `none`.
        max_workers: String,
    },
    /// Delete a finished job and its files.
    Rm {
        id: String,
    },
    /// Results so far, as json, ndjson or csv, or the export bundle as zip or bagit.
    Results {
        id: String,
        /// json, ndjson, csv, zip (the export bundle) or bagit (the bundle as a BagIt bag).
        #[arg(long, default_value = "json")]
        format: String,
        /// What a bundle also holds: `files` (the originals).
        #[arg(long)]
        include: Option<String>,
        /// Write to this file instead of standard output (written to a temporary file beside
        /// it and renamed once complete, so a broken download never leaves a complete-looking
        /// file).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: Option<String>,
    },
    Ls,
    Revoke {
        id: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// N no-op items through the real engine: claim, lease, complete, counters.
    Engine {
        #[arg(long, default_value_t = 100_000)]
        items: usize,
        /// Worker pool size (default: number of cores).
        #[arg(long)]
        workers: Option<usize>,
        /// Database URL (default: a fresh SQLite file in a temporary directory).
        #[arg(long)]
        database: Option<String>,
        #[arg(long, default_value_t = 2048)]
        prefetch: usize,
        #[arg(long, default_value_t = 1024)]
        claim_batch: usize,
    },
    /// Cost of reading a job's status: a 10-item job against an N-item one.
    Status {
        #[arg(long, default_value_t = 1_000_000)]
        items: usize,
        #[arg(long, default_value_t = 2_000)]
        reads: usize,
        #[arg(long)]
        database: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Extractor = cli.command {
        // No runtime, no logging setup: stdout is the protocol, stderr goes to the parent's log.
        return Ok(docket_pipeline::serve_extractor()?);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DOCKET_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if matches!(
        cli.command,
        Command::Serve | Command::Worker | Command::Migrate
    ) {
        private_files::restrict_new_files();
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async_main(cli))
}

async fn async_main(cli: Cli) -> anyhow::Result<()> {
    let config = config::Config::load(cli.config.as_deref())?;
    let client = |args: &ServerArgs| {
        let server = args.server.clone().unwrap_or_else(|| config.server.clone());
        let token = args.token.clone().or_else(|| config.client_token());
        client::Client::new(&server, token)
    };
    let json = cli.json;
    match cli.command {
        Command::Serve => serve::serve(&config).await,
        Command::Worker => run::worker(&config).await,
        Command::Submit {
            paths,
            options,
            idempotency_key,
            watch,
            resume,
            multipart,
            chunk_size,
            limit_rate,
            server,
        } => {
            let c = client(&server)?;
            let plan = (!multipart).then_some(resumable_submit::SendPlan {
                chunk: usize::try_from(chunk_size).unwrap_or(8 * 1024 * 1024),
                limit_rate,
                resume,
                max_retries: 8,
            });
            jobs_cmd::submit(
                &c,
                &paths,
                options.as_deref(),
                idempotency_key.as_deref(),
                plan,
                watch,
                json,
            )
            .await
        }
        Command::Jobs { what, server } => {
            let c = client(&server)?;
            match what {
                JobsCommand::Ls { state, limit } => {
                    jobs_cmd::ls(&c, state.as_deref(), limit, json).await
                }
                JobsCommand::Show { id } => {
                    let job = c.get_json(&format!("/v1/jobs/{id}")).await?;
                    jobs_cmd::print_job(&job, json);
                    Ok(())
                }
                JobsCommand::Watch { id } => jobs_cmd::watch(&c, &id, json).await,
                JobsCommand::Pause { id } => jobs_cmd::control(&c, &id, "pause", json).await,
                JobsCommand::Resume { id } => jobs_cmd::control(&c, &id, "resume", json).await,
                JobsCommand::Cancel { id } => jobs_cmd::control(&c, &id, "cancel", json).await,
                JobsCommand::Priority { id, priority } => {
                    let change = serde_json::json!({ "priority": priority });
                    jobs_cmd::change(&c, &id, &change, json).await
                }
                JobsCommand::Workers { id, max_workers } => {
                    let cap = match max_workers.as_str() {
                        "none" => serde_json::Value::Null,
                        n => serde_json::json!(n.parse::<u32>().map_err(|_| anyhow::anyhow!(
                            "max_workers must be a number of at least 1, or `none`"
                        ))?),
                    };
                    let change = serde_json::json!({ "max_workers": cap });
                    jobs_cmd::change(&c, &id, &change, json).await
                }
                JobsCommand::Rm { id } => {
                    c.delete(&format!("/v1/jobs/{id}")).await?;
                    if json {
                        println!("{}", serde_json::json!({"id": id, "deleted": true}));
                    } else {
                        println!("deleted {id}");
                    }
                    Ok(())
                }
                JobsCommand::Results {
                    id,
                    format,
                    include,
                    output,
                } => {
                    jobs_cmd::results(&c, &id, &format, include.as_deref(), output.as_deref()).await
                }
            }
        }
        Command::Publish {
            job,
            target,
            mode,
            watch,
            server,
        } => {
            let c = client(&server)?;
            jobs_cmd::publish(&c, &job, &target, mode.as_deref(), watch, json).await
        }
        Command::Remotes { server } => remotes_cmd::ls(&client(&server)?, json).await,
        Command::Schedules { what, server } => {
            let c = client(&server)?;
            match what {
                SchedulesCommand::Ls => schedules_cmd::ls(&c, json).await,
                SchedulesCommand::Show { id } => schedules_cmd::show(&c, &id, json).await,
                SchedulesCommand::Add {
                    cron,
                    timezone,
                    path,
                    noop,
                    options,
                    paused,
                } => {
                    let new = schedules_cmd::NewSchedule {
                        cron,
                        timezone,
                        path,
                        noop,
                        options,
                        paused,
                    };
                    schedules_cmd::add(&c, new, json).await
                }
                SchedulesCommand::Pause { id } => schedules_cmd::enable(&c, &id, false, json).await,
                SchedulesCommand::Resume { id } => schedules_cmd::enable(&c, &id, true, json).await,
                SchedulesCommand::Rm { id } => schedules_cmd::rm(&c, &id, json).await,
            }
        }
        Command::Search {
            query,
            category,
            job,
            limit,
            server,
        } => {
            let c = client(&server)?;
            jobs_cmd::search(&c, &query, category.as_deref(), job.as_deref(), limit, json).await
        }
        Command::Token { what } => match what {
            TokenCommand::Create { user, label } => {
                token_cmd::create(&config, &user, label.as_deref(), json).await
            }
            TokenCommand::Ls => token_cmd::ls(&config, json).await,
            TokenCommand::Revoke { id } => token_cmd::revoke(&config, &id, json).await,
        },
        Command::Migrate => run::migrate(&config).await,
        Command::Extractor => {
            unreachable!("`docket extractor` is served before the runtime starts")
        }
        Command::Bench { what } => {
            let out = match what {
                BenchCommand::Engine {
                    items,
                    workers,
                    database,
                    prefetch,
                    claim_batch,
                } => {
                    // One per core unless told: no-op items spend no time outside the engine,
                    // and the figures stay comparable with earlier builds'.
                    let workers = workers
                        .or(config.workers.filter(|&n| n > 0))
                        .unwrap_or_else(|| docket_engine::EngineConfig::default().workers);
                    bench::engine(bench::EngineBench {
                        items,
                        workers,
                        database,
                        prefetch,
                        claim_batch,
                    })
                    .await?
                }
                BenchCommand::Status {
                    items,
                    reads,
                    database,
                } => bench::status(items, reads.max(10), database.as_deref()).await?,
            };
            println!("{out}");
            Ok(())
        }
    }
}
