//! `docket`: the one binary. Commands parse arguments and call into the library crates.

mod bench;
mod config;
mod run;

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
    /// Run workers only (for scale-out against PostgreSQL).
    Worker,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Measure the engine on the real database.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DOCKET_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async_main(cli))
}

async fn async_main(cli: Cli) -> anyhow::Result<()> {
    let config = config::Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Worker => run::worker(&config).await,
        Command::Migrate => run::migrate(&config).await,
        Command::Bench { what } => {
            let out = match what {
                BenchCommand::Engine {
                    items,
                    workers,
                    database,
                    prefetch,
                    claim_batch,
                } => {
                    let workers = workers.unwrap_or_else(|| config.engine().workers);
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
