#!/usr/bin/env python3
"""Resumable (tus) upload benchmark: the server's peak RSS and throughput for one big file
sent with tus in 8 MiB chunks, against a plain multipart upload of the same file, alternately
in one sitting.

Each run starts a fresh API-only `docket serve` (DOCKET_WORKERS=0: nothing is processed, the
upload alone is measured) in its own directory (SQLite, local blobs) and sends the file with
the `docket` CLI: `docket submit --multipart FILE` (one request) or `docket submit FILE
--chunk-size 8388608` (tus: create, then one checksummed PATCH per 8 MiB, each flushed to disk
before it is acknowledged, then the job). The time is the CLI's whole run, job included; the
peak RSS is the server's VmHWM. Prints one JSON line per run, then a summary line.

    cargo build --release -p docket-cli
    python3 scripts/bench_tus.py --size-gib 5 --rounds 2 [--binary target/release/docket]
        [--work /var/tmp]

Python stdlib only. Needs about twice --size-gib of free disk in --work.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def vm_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def make_file(path, size):
    """Text-like bytes (not zeros: no filesystem shortcut), written in 8 MiB blocks."""
    block = bytes((i * 31 + i // 977) % 251 for i in range(8 * 1024 * 1024))
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def run(binary, file, mode, work_root):
    work = tempfile.mkdtemp(prefix=f"bench-tus-{mode}-", dir=work_root)
    # The file is larger than the default per-file limit (512 MiB), which the door enforces.
    limit = str(os.path.getsize(file) + (1 << 20))
    env = dict(os.environ, DOCKET_BIND="127.0.0.1:0", DOCKET_LOG="warn", DOCKET_WORKERS="0",
               DOCKET_STATE_DIR=os.path.join(work, "state"),
               DOCKET_MAX_FILE_BYTES=limit, DOCKET_UPLOAD_LIMIT_BYTES=limit)
    for k in ("DOCKET_DATABASE_URL", "DOCKET_BLOBS", "DOCKET_TOKEN", "DOCKET_CONFIG"):
        env.pop(k, None)
    server = subprocess.Popen([binary, "serve"], cwd=work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = server.stdout.readline().decode().strip()
        url = line.removeprefix("docket listening on ")
        token = open(os.path.join(work, "data", "token")).read().strip()
        cli_env = dict(env, DOCKET_SERVER=url, DOCKET_TOKEN=token)
        args = [binary, "--json", "submit", file]
        args += ["--multipart"] if mode == "multipart" else ["--chunk-size", str(8 * 1024 * 1024)]
        started = time.monotonic()
        out = subprocess.run(args, env=cli_env, capture_output=True)
        if out.returncode != 0:
            raise SystemExit(f"{mode}: docket submit failed: {out.stderr.decode()[-2000:]}")
        took = time.monotonic() - started
        job = json.loads(out.stdout.decode().strip().splitlines()[-1])
        assert job["counts"]["total"] == 1, job
        size = os.path.getsize(file)
        return {"mode": mode, "bytes": size, "seconds": round(took, 2),
                "mb_per_s": round(size / took / 1e6, 1),
                "server_peak_rss_mb": round(vm_hwm(server.pid) / 1e6, 1)}
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size-gib", type=float, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--binary", default=os.path.join(ROOT, "target/release/docket"))
    p.add_argument("--work", default=tempfile.gettempdir())
    a = p.parse_args()
    a.binary = os.path.abspath(a.binary)
    size = int(a.size_gib * 1024 ** 3)
    file = os.path.join(a.work, f"bench-tus-{size}.bin")
    if not os.path.exists(file) or os.path.getsize(file) != size:
        print(f"writing a {a.size_gib} GiB file to {file}", file=sys.stderr)
        make_file(file, size)
    results = {"multipart": [], "tus": []}
    try:
        for _ in range(a.rounds):
            for mode in ("multipart", "tus"):
                r = run(a.binary, file, mode, a.work)
                results[mode].append(r)
                print(json.dumps(r), flush=True)
    finally:
        os.remove(file)
    best = {m: max(r["mb_per_s"] for r in rs) for m, rs in results.items()}
    peak = {m: max(r["server_peak_rss_mb"] for r in rs) for m, rs in results.items()}
    print(json.dumps({"summary": True, "best_mb_per_s": best, "peak_rss_mb": peak,
                      "tus_to_multipart": round(best["tus"] / best["multipart"], 3)}))


if __name__ == "__main__":
    main()
