#!/usr/bin/env python3
"""Export benchmark: MB/s and the server's peak RSS while a job's bundle streams out.

For each N in --documents, builds N small, distinct text documents (about 2 KB each), runs them
as one `process` job through the real pipeline of a real `docket serve` (SQLite, local blobs),
then restarts the server API-only (DOCKET_WORKERS=0) on the same data, so that its peak RSS
(VmHWM in /proc/PID/status) measures the export alone, and downloads the bundle with curl.
Prints one JSON line per (N, format).

    cargo build --release -p docket-cli
    python3 scripts/bench_export.py --documents 1000 10000 [--formats zip bagit] [--include-files]
        [--postgres postgres://postgres@127.0.0.1:5432/postgres]

On SQLite the server's peak RSS includes SQLite's page cache (64 MiB per connection, filled as
the export reads the database), so it grows with the database up to that cap; PostgreSQL keeps
its cache in its own processes, which shows the export's own memory.

Memory should stay flat as the job grows (peak RSS about equal for 1,000 and 10,000 documents).
Python stdlib and curl only.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pipeline import ROOT, log, multipart, request  # noqa: E402

WORDS = ("archive invoice letter ledger harbour lighthouse customs manifest cargo vessel "
         "captain tide receipt account balance freight pier warehouse journal entry").split()


def document(i):
    words = [WORDS[(i * 7 + k * 13) % len(WORDS)] for k in range(300)]
    return (f"Document {i}\n\n" + " ".join(words) + f"\n\nReference {i:08d}\n").encode()


def vm_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def serve(binary, work, workers, database):
    env = dict(os.environ, DOCKET_BIND="127.0.0.1:0", DOCKET_LOG="warn",
               DOCKET_WORKERS=str(workers))
    for k in ("DOCKET_DATABASE_URL", "DOCKET_BLOBS", "DOCKET_TOKEN", "DOCKET_CONFIG"):
        env.pop(k, None)
    if database:
        env["DOCKET_DATABASE_URL"] = database
    server = subprocess.Popen([binary, "serve"], cwd=work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = server.stdout.readline().decode().strip()
    prefix = "docket listening on "
    if not line.startswith(prefix):
        server.kill()
        sys.exit(f"unexpected first line from docket serve: {line!r}")
    return server, line[len(prefix):]


def stop(server):
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def fresh_postgres(url, n):
    """A new database next to the one `url` names (dropped by `drop_postgres`)."""
    name = f"docket_bench_export_{n}_{os.getpid()}"
    subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {name}"], check=True)
    return url.rsplit("/", 1)[0] + "/" + name, name


def run(binary, n, formats, include_files, timeout, postgres):
    work = tempfile.mkdtemp(prefix="docket-bench-export-")
    database, dbname = fresh_postgres(postgres, n) if postgres else (None, None)
    try:
        server, base = serve(binary, work, os.cpu_count() or 1, database)
        try:
            token = open(os.path.join(work, "data", "token")).read().strip()
            files = [(f"doc-{i:06d}.txt", document(i)) for i in range(n)]
            boundary, body = multipart(files)
            started = time.monotonic()
            job = request(f"{base}/v1/jobs", token, "POST", body,
                          {"Content-Type": f"multipart/form-data; boundary={boundary}"})
            job_id = job["id"]
            while job["state"] not in ("completed", "failed", "cancelled"):
                if time.monotonic() - started > timeout:
                    sys.exit(f"timed out: {json.dumps(job)}")
                time.sleep(0.2)
                job = request(f"{base}/v1/jobs/{job_id}", token)
            log(f"{n} documents processed in {time.monotonic() - started:.1f} s: {job['counts']}")
        finally:
            stop(server)
        results = []
        for fmt in formats:
            # A fresh API-only process per download: its VmHWM is the export's.
            server, base = serve(binary, work, 0, database)
            try:
                time.sleep(0.5)
                idle = vm_hwm(server.pid)
                query = f"format={fmt}" + ("&include=files" if include_files else "")
                out = os.path.join(work, f"bundle.{fmt}.zip")
                t0 = time.monotonic()
                curl = subprocess.run(
                    ["curl", "-sS", "--fail", "-o", out, "-H", f"Authorization: Bearer {token}",
                     "-w", "%{size_download} %{time_starttransfer}",
                     f"{base}/v1/jobs/{job_id}/results?{query}"],
                    capture_output=True, text=True, check=True)
                seconds = time.monotonic() - t0
                size, first_byte = curl.stdout.split()
                peak = vm_hwm(server.pid)
            finally:
                stop(server)
            size = int(size)
            results.append({
                "database": "postgres" if postgres else "sqlite",
                "documents": n, "format": fmt, "include_files": include_files,
                "bytes": size, "seconds": round(seconds, 3),
                "first_byte_s": round(float(first_byte), 3),
                "mb_per_s": round(size / 1e6 / seconds, 1),
                "documents_per_s": round(n / seconds),
                "rss_idle_mb": round(idle / 2**20, 1),
                "rss_peak_mb": round(peak / 2**20, 1),
            })
            print(json.dumps(results[-1]), flush=True)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if dbname:
            subprocess.run(["psql", postgres, "-qc", f"DROP DATABASE IF EXISTS {dbname}"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--documents", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--formats", nargs="+", default=["zip", "bagit"])
    ap.add_argument("--include-files", action="store_true")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/docket"))
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--postgres", metavar="URL",
                    help="run on PostgreSQL: a fresh database is made beside the one URL names")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.path.exists(binary):
        sys.exit(f"{binary} missing: cargo build --release -p docket-cli")
    for n in args.documents:
        run(binary, n, args.formats, args.include_files, args.timeout, args.postgres)


if __name__ == "__main__":
    main()
