#!/usr/bin/env python3
"""One job over a big server folder: memory stays flat and status reads stay constant-time.

    cargo build --release -p docket-cli
    python3 scripts/bench_folder.py [--files 20000 200000] [--flat] [--binary target/release/docket]

For each size, writes a folder of that many small distinct text files (about 60 bytes each,
in subfolders of 1,000, or with --flat all in one directory), starts a fresh `docket serve`
on SQLite (one worker per core) with the folder under DOCKET_ALLOWED_ROOTS, submits one
`process` job with the folder as its source, and until the job completes reads its status
(GET /v1/jobs/{id}) twice a second, timing each read and sampling the server's resident
memory. Prints one JSON line per size: seconds,
items/s, the server's peak RSS (VmHWM) and RSS samples, and status read latencies early in
the job and late in it.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from benchlib import call, start_serve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def make_folder(path, files, flat=False):
    os.makedirs(path, exist_ok=True)
    for i in range(files):
        sub = path if flat else os.path.join(path, f"{i // 1000:04d}")
        if i % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"note-{i:07d}.txt"), "w") as f:
            f.write(f"Note {i}: the archive holds letter {i * 7919 % 104729} of box {i % 97}.\n")


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run(binary, files, timeout, flat=False):
    work = tempfile.mkdtemp(prefix="docket-bench-folder-", dir="/var/tmp")
    try:
        folder = os.path.join(work, "scans")
        started = time.monotonic()
        make_folder(folder, files, flat)
        log(f"{files} files written in {time.monotonic() - started:.1f} s")
        with open(os.path.join(work, "docket.toml"), "w") as f:
            f.write("[rate_limit]\nrequests_per_second = 1000000\nburst = 1000000\n")
        server, base, token = start_serve(binary, work,
                                          DOCKET_WORKERS=str(os.cpu_count() or 1),
                                          DOCKET_ALLOWED_ROOTS=folder)
        try:
            rss_idle = status_kb(server.pid, "VmRSS")
            started = time.monotonic()
            job = call(base, token, "POST", "/v1/jobs",
                       {"kind": "process", "source": {"path": folder}})
            reads, rss = [], []
            while True:
                t0 = time.monotonic()
                job = call(base, token, "GET", f"/v1/jobs/{job['id']}")
                reads.append((job["counts"]["total"], (time.monotonic() - t0) * 1000))
                rss.append(status_kb(server.pid, "VmRSS"))
                if job["state"] in ("completed", "failed", "cancelled"):
                    break
                if time.monotonic() - started > timeout:
                    sys.exit(f"timed out: {json.dumps(job)}")
                time.sleep(0.5)
            took = time.monotonic() - started
            peak = status_kb(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=60)
        third = max(1, len(reads) // 3)
        early = [ms for _, ms in reads[:third]]
        late = [ms for _, ms in reads[-third:]]
        return {
            "files": files,
            "layout": "one directory" if flat else "subfolders of 1,000",
            "state": job["state"],
            "succeeded": job["counts"]["succeeded"],
            "failed": job["counts"]["failed"],
            "seconds": round(took, 1),
            "items_per_s": round(job["counts"]["succeeded"] / took, 1),
            "rss_idle_mb": round(rss_idle / 1024, 1),
            "rss_median_mb": round(statistics.median(rss) / 1024, 1),
            "peak_rss_mb": round(peak / 1024, 1),
            "status_reads": len(reads),
            "status_ms_early_median": round(statistics.median(early), 2),
            "status_ms_late_median": round(statistics.median(late), 2),
            "status_ms_max": round(max(ms for _, ms in reads), 2),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, nargs="+", default=[20000, 200000])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/docket"))
    ap.add_argument("--timeout", type=float, default=7200.0)
    ap.add_argument("--flat", action="store_true",
                    help="all files in one directory instead of subfolders of 1,000")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.path.exists(binary):
        sys.exit(f"{binary} missing: cargo build --release -p docket-cli")
    for files in args.files:
        print(json.dumps(run(binary, files, args.timeout, args.flat)), flush=True)


if __name__ == "__main__":
    main()
