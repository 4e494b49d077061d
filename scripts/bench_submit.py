#!/usr/bin/env python3
"""Submit latency: how long after the last byte of a multipart upload of N small files the
202 arrives.

For each N in --files, builds one multipart body of N distinct small text files (about 60
bytes each), sends it to a real `docket serve` (SQLite or --postgres, local blobs, API only:
DOCKET_WORKERS=0, so that the figure is the submit path's alone) over a raw socket, and times
from the moment the last byte is handed to the kernel to the moment the answer's status line
arrives. Loopback socket buffers hold a few hundred KB, so "after the last byte" is, within
that, "after the body arrived". Each (binary, N) runs --rounds times on a fresh server; with
several binaries they run alternately, round by round, so both see the same machine.

    python3 scripts/bench_submit.py --files 1000 20000 100000 \\
        --binary old=/tmp/docket-old --binary new=target/release/docket [--rounds 3]
        [--postgres postgres://postgres@127.0.0.1:5432/postgres]

Prints one JSON line per run, then a median per (binary, N) on stderr. Python stdlib only.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_export import fresh_postgres, serve, stop  # noqa: E402
from bench_pipeline import ROOT, log  # noqa: E402


def body_of(n):
    boundary = uuid.uuid4().hex
    parts = []
    for i in range(n):
        parts.append(
            (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
             f"filename=\"note-{i:06d}.txt\"\r\nContent-Type: text/plain\r\n\r\n"
             f"Note {i}: an invoice for {i} widgets, payable in thirty days.\r\n").encode())
    parts.append(f"--{boundary}--\r\n".encode())
    return boundary, b"".join(parts)


def submit(address, token, boundary, body):
    """Sends the upload; answers (status, seconds from last byte to the status line, id)."""
    host, port = address.rsplit(":", 1)
    head = (f"POST /v1/jobs HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, int(port))) as s:
        s.sendall(head + body)
        last_byte = time.perf_counter()
        first = s.recv(64)
        answered = time.perf_counter()
        rest = b"".join(iter(lambda: s.recv(1 << 16), b""))
    answer = first + rest
    status = int(answer.split(b" ", 2)[1])
    payload = answer.split(b"\r\n\r\n", 1)[1]
    try:
        job = json.loads(payload)
    except ValueError:
        job = {}
    return status, answered - last_byte, job.get("id"), job.get("counts", {}).get("total")


def run(binary, n, body, boundary, postgres, round_no):
    work = tempfile.mkdtemp(prefix="docket-bench-submit-")
    database, dbname = fresh_postgres(postgres, f"{n}_{round_no}") if postgres else (None, None)
    server, url = serve(binary, work, 0, database)
    try:
        with open(os.path.join(work, "data", "token")) as f:
            token = f.read().strip()
        status, seconds, job_id, total = submit(url.removeprefix("http://"), token, boundary, body)
        if status != 202 or total != n:
            raise SystemExit(f"{binary}: expected 202 with {n} items, got {status} ({total})")
        return seconds
    finally:
        stop(server)
        if dbname:
            subprocess.run(["psql", postgres, "-qc", f"DROP DATABASE IF EXISTS {dbname}"],
                           check=False)
        subprocess.run(["rm", "-rf", work], check=False)
        # Let the removal's writeback finish, so the next run does not pay for this one.
        subprocess.run(["sync"], check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, nargs="+", default=[1000, 20000, 100000])
    ap.add_argument("--binary", action="append", default=[],
                    help="NAME=PATH (repeatable); default new=target/release/docket")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--postgres", help="a PostgreSQL URL where databases may be created")
    args = ap.parse_args()
    binaries = [b.split("=", 1) if "=" in b else (b, b) for b in args.binary] or [
        ("new", os.path.join(ROOT, "target/release/docket"))]
    for name, path in binaries:
        if not os.path.exists(path):
            sys.exit(f"{name}: no binary at {path}")
    results = {}
    for n in args.files:
        boundary, body = body_of(n)
        log(f"{n} files, {len(body) / 1e6:.1f} MB body")
        for round_no in range(args.rounds):
            for name, path in binaries:
                seconds = run(os.path.abspath(path), n, body, boundary, args.postgres, round_no)
                results.setdefault((name, n), []).append(seconds)
                print(json.dumps({"binary": name, "files": n, "round": round_no,
                                  "database": "postgres" if args.postgres else "sqlite",
                                  "after_last_byte_ms": round(seconds * 1000, 1)}), flush=True)
    for (name, n), runs in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        log(f"{name:>8} {n:>7} files: median {statistics.median(runs) * 1000:8.1f} ms "
            f"(runs: {', '.join(f'{r * 1000:.0f}' for r in runs)})")


if __name__ == "__main__":
    main()
