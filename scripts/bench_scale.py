#!/usr/bin/env python3
"""Scale-out benchmark: work items/s with 1, 2 and 4 `docket worker` processes on PostgreSQL,
and the time from a worker's death (SIGKILL) to its items being taken over.

    cargo build --release -p docket-cli
    python3 scripts/bench_scale.py [--items 50000] [--database postgres://postgres@127.0.0.1:5432/docket_scale]

The database is dropped and re-created. One `docket serve` with DOCKET_WORKERS=0 takes the
submits; the workers are separate processes. Prints one JSON line per measurement.
"""
import argparse, json, os, signal, subprocess, sys, tempfile, time

import benchlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKET = os.path.join(ROOT, "target", "release", "docket")


def call(base, token, method, path, body=None):
    return benchlib.call(base, token, method, path, body, timeout=30)


def wait(pred, within, what):
    start = time.time()
    while time.time() - start < within:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50000)
    ap.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/docket_scale")
    ap.add_argument("--threads", type=int, default=2, help="DOCKET_WORKERS of each worker process")
    ap.add_argument("--prefetch", type=int, default=None, help="DOCKET_PREFETCH of each worker process (default: the engine's)")
    args = ap.parse_args()
    admin = args.database.rsplit("/", 1)[0] + "/postgres"
    db = args.database.rsplit("/", 1)[1]
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', "-c", f'CREATE DATABASE "{db}"'], check=True)
    work = tempfile.mkdtemp(prefix="docket-scale-")
    env = dict(os.environ, DOCKET_DATABASE_URL=args.database, DOCKET_BLOBS=os.path.join(work, "blobs"), DOCKET_LOG="warn")
    serve = subprocess.Popen([DOCKET, "serve"], cwd=work, stdout=subprocess.PIPE, env=dict(env, DOCKET_WORKERS="0", DOCKET_BIND="127.0.0.1:0"))
    base = serve.stdout.readline().decode().strip().removeprefix("docket listening on ")
    token = open(os.path.join(work, "data", "token")).read().strip()
    workers = []

    def start_workers(n, lease=30, prefetch=args.prefetch):
        for _ in range(n):
            wenv = dict(env, DOCKET_WORKERS=str(args.threads), DOCKET_LEASE_SECONDS=str(lease))
            if prefetch:
                wenv["DOCKET_PREFETCH"] = str(prefetch)
            workers.append(subprocess.Popen([DOCKET, "worker"], cwd=work, env=wenv))

    def stop_workers():
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait()
        workers.clear()

    try:
        for n in (1, 2, 4):
            start_workers(n)
            time.sleep(1)
            job = call(base, token, "POST", "/v1/jobs", {"kind": "noop", "source": {"count": args.items}})
            done = wait(lambda: (lambda j: j if j["state"] == "completed" else None)(call(base, token, "GET", f"/v1/jobs/{job['id']}")), 600, "completion")
            print(json.dumps({"database": "postgres", "worker_processes": n, "threads_each": args.threads, "items": args.items,
                              "prefetch": args.prefetch or "default", "work_per_s": done["items_per_second"]}), flush=True)
            stop_workers()

        for lease in (5, 30):
            # Default prefetch here, so both workers hold items when one dies.
            start_workers(2, lease, prefetch=None)
            job = call(base, token, "POST", "/v1/jobs", {"kind": "noop", "source": {"count": 64, "sleep_ms": 120000}})
            jid = job["id"]
            wait(lambda: call(base, token, "GET", f"/v1/jobs/{jid}")["counts"]["running"] >= 8, 60, "items in flight")
            victim = workers.pop(0)
            victim.kill()
            victim.wait()
            killed = time.time()
            # Taken over: the first item whose lease expired is back in line with its error recorded.
            def taken():
                items = call(base, token, "GET", f"/v1/jobs/{jid}/items?limit=100")["items"]
                return any(any("lease" in e["message"] for e in i["errors"]) for i in items)
            wait(taken, 300, "takeover")
            print(json.dumps({"database": "postgres", "lease_seconds": lease, "takeover_seconds": round(time.time() - killed, 2)}), flush=True)
            call(base, token, "POST", f"/v1/jobs/{jid}/cancel")
            stop_workers()
    finally:
        for w in workers:
            w.kill()
        serve.send_signal(signal.SIGTERM)
        serve.wait()


if __name__ == "__main__":
    main()
