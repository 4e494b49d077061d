#!/usr/bin/env bash
# Command (2): set up and pass the whole test suite: formatting, lints, and every test on real
# SQLite, real PostgreSQL and a real S3-compatible server (moto, installed from PyPI; bagit too,
# for the export bags). PostgreSQL
# is started if it is down; if it cannot be reached the run fails, it never skips those tests.
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_system_packages
apt_install postgresql postgresql-client
ensure_rust

# Python tools from PyPI the tests need: `pip_install WHAT PACKAGE…` installs them (Debian's
# own python3 refuses pip installs, PEP 668, unless told otherwise) and makes their console
# scripts visible (pyenv shims, pip's scripts dir, the user base).
pip_install() {
    local what=$1; shift
    command -v python3 >/dev/null || apt_install python3
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    say "installing $* ($what)"
    local pip_args=(--quiet --disable-pip-version-check)
    if python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
        pip_args+=(--break-system-packages)
    fi
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install "${pip_args[@]}" "$@" \
        || die "could not install $*: run  python3 -m pip install $*"
    if command -v pyenv >/dev/null; then pyenv rehash || true; fi
    PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
    PATH="$PATH:$(python3 -m site --user-base)/bin"
    export PATH
}

# The S3 blob-store tests (crates/docket-blobs/tests/s3.rs) start moto's S3-compatible server on
# loopback themselves; they fail, never skip, without it.
moto_ok() {
    { command -v moto_server >/dev/null && moto_server --help >/dev/null 2>&1; } \
        || python3 -c 'import moto.server' >/dev/null 2>&1
}
if ! moto_ok; then
    pip_install "S3-compatible server for the blob-store tests" 'moto[server]'
    moto_ok || die "moto was installed but neither moto_server nor python3 -m moto.server runs"
fi

# The BagIt export test (crates/docket-cli/tests/export.rs) validates the bags it downloads with
# the Library of Congress's validator (`bagit.py --validate`); it fails, never skips, without it.
bagit_ok() { command -v bagit.py >/dev/null && python3 -c 'import bagit' >/dev/null 2>&1; }
if ! bagit_ok; then
    pip_install "BagIt validator for the export tests" bagit
    bagit_ok || die "bagit was installed but bagit.py is not on PATH"
fi

# The tus tests (crates/docket-cli/tests/tus_clients.rs) upload with stock clients: tuspy from
# PyPI, and tus-js-client from npm (pinned in tests/tus/package.json) under Node; they fail,
# never skip, without them.
tuspy_ok() { python3 -c 'import tusclient' >/dev/null 2>&1; }
if ! tuspy_ok; then
    pip_install "tus client for the resumable upload tests" tuspy==1.1.0
    tuspy_ok || die "tuspy was installed but python3 cannot import tusclient"
fi
command -v node >/dev/null || apt_install nodejs
command -v npm >/dev/null || apt_install npm
say "installing tus-js-client (npm ci in tests/tus)"
(cd tests/tus && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tests/tus failed"

export DOCKET_TEST_POSTGRES_URL="${DOCKET_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! pg_up; then
    say "starting PostgreSQL"
    for v in $(ls /etc/postgresql 2>/dev/null); do
        as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
    done
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || die "PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started"
if ! psql "$DOCKET_TEST_POSTGRES_URL" -qAtc 'select 1' >/dev/null 2>&1; then
    # A stock Debian cluster asks for a password over TCP: give the postgres role one.
    say "setting a password for the postgres role"
    as_root runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'docket'" >/dev/null
    export DOCKET_TEST_POSTGRES_URL="postgres://postgres:docket@127.0.0.1:5432/postgres"
    psql "$DOCKET_TEST_POSTGRES_URL" -qAtc 'select 1' >/dev/null \
        || die "cannot log in to PostgreSQL at $DOCKET_TEST_POSTGRES_URL"
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install --locked cargo-nextest
fi

say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
say "building tests"
cargo build --locked --workspace --all-targets
say "running tests"
cargo nextest run --locked --workspace --no-fail-fast
cargo test --locked --workspace --doc

# The live server from outside: schemathesis drives the API from its own OpenAPI document (no
# 5xx, every answer as documented), and headless Chromium drives the dashboard.
say "fuzzing the HTTP API with schemathesis"
scripts/api_fuzz.sh target/debug/docket
say "dashboard in headless Chromium"
tests/browser/run.sh target/debug/docket
