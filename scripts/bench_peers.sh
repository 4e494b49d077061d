#!/usr/bin/env bash
# Docket against its peers in one sitting (BENCHMARKS.md, "Against the peers"): installs what
# the comparison needs — BullMQ and graphile-worker from npm (pinned in scripts/peers), Redis
# (started if it is not running), PostgreSQL, poppler-utils, tesseract, rapidfuzz for the
# error rates — builds Docket in release mode, and runs scripts/bench_peers.py, which prints
# one table of medians and ratios. Not part of CI. Arguments go to bench_peers.py
# (e.g. --rounds 5, --only engine, --items 200000).
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_system_packages
apt_install redis-server postgresql postgresql-client python3-pip
# NodeSource's nodejs carries npm and conflicts with Debian's npm package: install Debian's only
# where there is no npm at all.
command -v node >/dev/null || apt_install nodejs
command -v npm >/dev/null || apt_install npm
ensure_rust

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || die "Redis is not reachable on 127.0.0.1:6379"

export DOCKET_BENCH_POSTGRES_URL="${DOCKET_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    for v in $(ls /etc/postgresql 2>/dev/null); do
        as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
    done
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
psql "$DOCKET_BENCH_POSTGRES_URL" -qAtc 'select 1' >/dev/null 2>&1 \
    || die "PostgreSQL is not reachable at $DOCKET_BENCH_POSTGRES_URL (set DOCKET_BENCH_POSTGRES_URL)"

if ! python3 -c 'import rapidfuzz' >/dev/null 2>&1; then
    say "installing rapidfuzz (PyPI)"
    extra=()
    python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))' \
        && extra=(--break-system-packages)
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet "${extra[@]}" rapidfuzz \
        || die "could not install rapidfuzz"
fi

say "installing BullMQ and graphile-worker (npm ci in scripts/peers)"
(cd scripts/peers && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in scripts/peers failed"

say "building Docket (release)"
cargo build --release -p docket-cli || die "the release build failed"
exec python3 scripts/bench_peers.py --binary "${CARGO_TARGET_DIR:-target}/release/docket" "$@"
