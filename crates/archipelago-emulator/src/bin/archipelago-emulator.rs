//! `archipelago-emulator`: the emulator as a process, for driving it from outside.

use std::net::SocketAddr;

use anyhow::Context;
use archipelago_emulator::{Emulator, EmulatorConfig};
use clap::Parser;

/// An in-memory Archipelago (Drupal JSON:API + AMI) for tests; faults and the record of what
/// it stored are under /_emulator.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8090")]
    bind: SocketAddr,
    #[arg(long, default_value = "jsonapi")]
    user: String,
    #[arg(long, default_value = "secret")]
    password: String,
    /// Answer every write with 405, like Drupal's default JSON:API settings.
    #[arg(long)]
    read_only: bool,
    #[arg(long, default_value_t = 512 * 1024 * 1024)]
    max_upload_bytes: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = EmulatorConfig {
        user: args.user,
        password: args.password,
        read_only: args.read_only,
        max_upload_bytes: args.max_upload_bytes,
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
