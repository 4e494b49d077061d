#!/usr/bin/env bash
# Fuzzes the HTTP API against its own OpenAPI document with schemathesis (installed from PyPI if
# missing): starts `docket serve` on a free loopback port in a temporary directory, creates a
# little data (a noop job, an upload and its documents), and runs schemathesis on
# /openapi.json with the first-start token. Fails on any 5xx, and on any response that does
# not match the document (status, content type, headers, body schema), or that ignores auth.
#
#   scripts/api_fuzz.sh [DOCKET_BINARY]      (default: target/debug/docket)
#
# Bounded to a few minutes on two cores. Knobs (environment):
#   API_FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 25)
#   API_FUZZ_MAX_TIME      seconds for the whole schemathesis run (default 240)
#   API_FUZZ_SEED          fix hypothesis's seed to replay a run
#   API_FUZZ_CHECKS        schemathesis checks to run instead of the default list
#   API_FUZZ_KEEP=1        keep the temporary directory (server log, reports)
# Server-Sent Events endpoints (…/events) are left out: a stream that stays open is not
# something a request/response fuzzer can judge. tests/openapi.rs covers them.
cd "$(dirname "$0")/.."
. scripts/lib.sh

bin="${1:-target/debug/docket}"
[ -x "$bin" ] || die "no docket binary at $bin: build it with  cargo build -p docket-cli"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
hooks_dir="$(pwd)/scripts"

command -v curl >/dev/null || apt_install curl ca-certificates

schemathesis_ok() { python3 -c 'import schemathesis, hypothesis, openapi_spec_validator' >/dev/null 2>&1; }
if ! schemathesis_ok; then
    command -v python3 >/dev/null || apt_install python3
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    say "installing schemathesis (API fuzzer)"
    pip_args=(--quiet --disable-pip-version-check)
    # Debian's own python3 refuses pip installs (PEP 668) unless told otherwise.
    if python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
        pip_args+=(--break-system-packages)
    fi
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install "${pip_args[@]}" 'schemathesis>=4,<5' openapi-spec-validator \
        || die "could not install schemathesis: run  python3 -m pip install 'schemathesis>=4,<5' openapi-spec-validator"
    if command -v pyenv >/dev/null; then pyenv rehash || true; fi
    schemathesis_ok || die "schemathesis was installed but python3 cannot import it"
fi
# The module, not the `st` script: it is found whatever pip's scripts directory is.
# One worker: with two threads, hypothesis's ast.parse trips a CPython 3.11 bug now and then
# ("AST constructor recursion depth mismatch"), an error of the tool, not of the API.
st() { python3 -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "st"; sys.exit(schemathesis())' "$@"; }

tmp="$(mktemp -d -t docket-api-fuzz.XXXXXX)"
server_pid=""
cleanup() {
    local rc=$?
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "${API_FUZZ_KEEP:-}" = 1 ] || [ "$rc" -ne 0 ]; then
        say "kept $tmp (server.log, report/)"
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
mkdir -p "$tmp/data" "$tmp/allowed/docs"
printf 'An invoice for twelve widgets, payable in thirty days.\n' >"$tmp/allowed/docs/invoice.txt"
printf '# Notes\n\nA short *markdown* memo about the quarterly report.\n' >"$tmp/allowed/docs/memo.md"

# The fuzzer sends far more than a person would: its token (user `local`) is not limited (the
# rate limiter has its own tests).
printf '[rate_limit.users.local]\nrequests_per_second = 0\nburst = 0\n' >"$tmp/docket.toml"

say "starting docket serve on $base"
(
    cd "$tmp"
    export DOCKET_DATA_DIR="$tmp/data" DOCKET_DATABASE_URL="sqlite://$tmp/data/docket.db" \
        DOCKET_BLOBS="$tmp/blobs" DOCKET_BIND="127.0.0.1:$port" DOCKET_WORKERS=2 \
        DOCKET_ALLOWED_ROOTS="$tmp/allowed" DOCKET_UPLOAD_LIMIT_BYTES=$((8 * 1024 * 1024))
    exec "$bin" serve
) >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && [ -s "$tmp/data/token" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "docket serve exited"; }
    sleep 0.2
done
curl -fsS "$base/healthz" >/dev/null || { cat "$tmp/server.log" >&2; die "docket serve did not come up"; }
token="$(cat "$tmp/data/token")"
auth=(-H "Authorization: Bearer $token")

json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

say "creating data"
noop_job="$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
    -d '{"kind":"noop","source":{"count":5,"sleep_ms":1}}' "$base/v1/jobs" | json_field id)"
upload_job="$(curl -fsS "${auth[@]}" -F "files=@$tmp/allowed/docs/invoice.txt" \
    -F "files=@$tmp/allowed/docs/memo.md;filename=notes/memo.md" \
    -F 'options={"max_retries":1}' "$base/v1/jobs" | json_field id)"
folder_job="$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
    -d "{\"kind\":\"process\",\"source\":{\"path\":\"$tmp/allowed/docs\"}}" "$base/v1/jobs" | json_field id)"
for job in "$noop_job" "$upload_job" "$folder_job"; do
    for _ in $(seq 1 150); do
        state="$(curl -fsS "${auth[@]}" "$base/v1/jobs/$job" | json_field state)"
        case "$state" in completed | failed | cancelled) break ;; esac
        sleep 0.2
    done
    [ "$state" = completed ] || { cat "$tmp/server.log" >&2; die "job $job ended $state"; }
done
documents="$(curl -fsS "${auth[@]}" "$base/v1/jobs/$upload_job/items" | python3 -c '
import json, sys
print(",".join(i["document_id"] for i in json.load(sys.stdin)["items"] if i["document_id"]))')"
[ -n "$documents" ] || die "the upload made no documents"
# One more, left running (paused) for the control endpoints to act on.
paused_job="$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
    -d '{"kind":"noop","source":{"count":20,"sleep_ms":20}}' "$base/v1/jobs" | json_field id)"
curl -fsS -o /dev/null "${auth[@]}" -X POST "$base/v1/jobs/$paused_job/pause" || true
category="$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
    -d '{"name":"invoices","algorithm":"any","pattern":"invoice widgets"}' \
    "$base/v1/categories" | json_field id)"
export DOCKET_FUZZ_JOB_IDS="$noop_job,$upload_job,$folder_job,$paused_job"
export DOCKET_FUZZ_DOCUMENT_IDS="$documents"
export DOCKET_FUZZ_CATEGORY_IDS="$category"
export DOCKET_FUZZ_FOLDER="$tmp/allowed/docs"

# The event streams are not fuzzed (below); check that a finished job's stream is SSE and ends.
say "checking a finished job's event stream"
curl -fsS -D "$tmp/events.headers" -o "$tmp/events.body" --max-time 10 "${auth[@]}" \
    "$base/v1/jobs/$noop_job/events" || die "the event stream of a finished job did not end"
grep -qi '^content-type: text/event-stream' "$tmp/events.headers" \
    || die "the event stream is not text/event-stream"
grep -q '^event: end' "$tmp/events.body" || die "the event stream did not send \`end\`"

say "validating $base/openapi.json (openapi-spec-validator)"
curl -fsS "$base/openapi.json" | python3 -c '
import json, sys
from openapi_spec_validator import validate
validate(json.load(sys.stdin))' || die "/openapi.json is not a valid OpenAPI document"

say "fuzzing $base/openapi.json"
checks=not_a_server_error,status_code_conformance,content_type_conformance
checks+=,response_headers_conformance,response_schema_conformance,ignored_auth
checks+=,unsupported_method,allow_header_conformance,missing_required_header
checks+=,use_after_free,ensure_resource_availability
# Not negative_data_rejection: an idempotent replay answers 202 whatever the body, and
# /v1/classify ignores multipart parts other than `file`, both by design.
checks="${API_FUZZ_CHECKS:-$checks}"
seed=()
[ -n "${API_FUZZ_SEED:-}" ] && seed=(--seed "$API_FUZZ_SEED")
set +e
# From the temporary directory: schemathesis keeps state in ./.schemathesis. The tus endpoints
# (/v1/uploads) are left to the stock tus clients in crates/docket-cli/tests/tus_clients.rs and
# to tus.rs: the protocol answers a missing Tus-Resumable with 412 (schemathesis expects 400)
# and its PATCH body is application/offset+octet-stream, which schemathesis cannot send.
cd "$tmp"
DOCKET_FUZZ_STATS="$tmp/statuses.txt" SCHEMATHESIS_HOOKS=api_fuzz_hooks PYTHONPATH="$hooks_dir${PYTHONPATH:+:$PYTHONPATH}" \
    st run "$base/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks "$checks" \
    --exclude-path-regex '/events$|^/v1/uploads' \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "${API_FUZZ_MAX_EXAMPLES:-25}" \
    --max-time "${API_FUZZ_MAX_TIME:-240}" \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --suppress-health-check all \
    --report junit --report-dir "$tmp/report" \
    --no-color "${seed[@]}"
rc=$?
set -e
cd - >/dev/null
if [ -s "$tmp/statuses.txt" ]; then
    say "answers by status ($(wc -l <"$tmp/statuses.txt") calls): $(awk '{print $3}' "$tmp/statuses.txt" | sort | uniq -c | sort -rn | awk '{printf "%s×%s ", $1, $2}')"
    say "POST /v1/jobs by status: $(awk '$1 == "POST" && $2 == "/v1/jobs" {print $3}' "$tmp/statuses.txt" | sort | uniq -c | sort -rn | awk '{printf "%s×%s ", $1, $2}')"
    fives="$(awk '$3 ~ /^5/' "$tmp/statuses.txt" | wc -l)"
    [ "$fives" -eq 0 ] || { say "$fives answers were 5xx"; rc=1; }
fi
if grep -n 'panicked' "$tmp/server.log" >&2; then
    say "the server panicked (above; full log in $tmp/server.log)"
    rc=1
fi
if ! kill -0 "$server_pid" 2>/dev/null; then
    tail -n 50 "$tmp/server.log" >&2
    say "the server died during the run"
    rc=1
fi
[ "$rc" -eq 0 ] && say "api fuzz: no server errors, no mismatches with /openapi.json"
exit "$rc"
