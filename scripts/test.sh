#!/usr/bin/env bash
# Command (2): set up and pass the whole test suite: formatting, lints, and every test on real
# SQLite and real PostgreSQL. PostgreSQL is started if it is down; if it cannot be reached the
# run fails, it never skips those tests.
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_system_packages
apt_install postgresql postgresql-client
ensure_rust

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
cargo build --locked --release -p docket-cli
say "running tests"
cargo nextest run --locked --workspace --no-fail-fast
cargo test --locked --workspace --doc
