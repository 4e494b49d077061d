#!/usr/bin/env bash
# Command (1): set up and run Docket on its embedded defaults (SQLite in ./data).
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_system_packages
ensure_rust
say "building docket (release)"
cargo build --release --locked -p docket-cli
say "starting docket serve on ${DOCKET_BIND:-127.0.0.1:8080} (Ctrl-C stops it)"
exec ./target/release/docket serve "$@"
