//! `vision-emulator`: the emulator as a process. Prints its URL on the first line of stdout.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use vision_emulator::{Emulator, EmulatorConfig};

/// A Google Cloud Vision `images:annotate` emulator for tests; faults and the record of what it
/// read are under /_emulator.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8091")]
    bind: SocketAddr,
    #[arg(long, default_value = "test-key")]
    api_key: String,
    #[arg(long, default_value = "tesseract")]
    tesseract: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = EmulatorConfig {
        api_key: args.api_key,
        tesseract: args.tesseract,
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start_on(config, args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    println!("{}", emulator.url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    emulator.shutdown().await;
    Ok(())
}
