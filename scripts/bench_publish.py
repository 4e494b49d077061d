#!/usr/bin/env python3
"""Publish benchmark: documents per second publishing N documents in `objects` mode to the
Archipelago emulator, at target concurrency 1 and 4, and the server's peak RSS.

    cargo build --release -p docket-cli -p archipelago-emulator
    python3 scripts/bench_publish.py [--documents 1000] [--delay-ms 0]

One `docket serve` (SQLite, in a temporary directory) processes N small text files once; then
each concurrency publishes that job to its own emulator (a fresh repository, so every object is
really created). `--delay-ms` adds latency to every emulator answer, as a network would.
Prints one JSON line per concurrency.
"""
import argparse, json, os, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKET = os.path.join(ROOT, "target", "release", "docket")
EMULATOR = os.path.join(ROOT, "target", "release", "archipelago-emulator")


def call(base, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def wait(pred, within, what):
    start = time.time()
    while time.time() - start < within:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def start_emulator(delay_ms):
    proc = subprocess.Popen([EMULATOR, "--bind", "127.0.0.1:0", "--user", "bench", "--password", "bench"],
                            stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip().split()[-1]
    if delay_ms:
        req = urllib.request.Request(url + "/_emulator/faults/delay", method="POST",
                                     data=json.dumps({"millis": delay_ms}).encode())
        req.add_header("Content-Type", "application/json")
        urllib.request.urlopen(req, timeout=10).read()
    return proc, url


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--documents", type=int, default=1000)
    ap.add_argument("--delay-ms", type=int, default=0)
    args = ap.parse_args()
    for exe in (DOCKET, EMULATOR):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{exe} is missing: cargo build --release -p docket-cli -p archipelago-emulator")

    emulators = {c: start_emulator(args.delay_ms) for c in (1, 4)}
    work = tempfile.mkdtemp(prefix="docket-bench-publish-")
    toml = "".join(
        f'[publish.targets.c{c}]\nurl = "{url}"\nuser = "bench"\nconcurrency = {c}\n\n'
        for c, (_, url) in emulators.items())
    with open(os.path.join(work, "docket.toml"), "w") as f:
        f.write(toml)
    folder = os.path.join(work, "documents")
    os.makedirs(folder)
    for i in range(args.documents):
        with open(os.path.join(folder, f"doc-{i:05}.txt"), "w") as f:
            f.write(f"Document {i}: a letter about the harbour and its ships, number {i * 7919}.\n")
    env = dict(os.environ, DOCKET_BIND="127.0.0.1:0", DOCKET_LOG="warn",
               DOCKET_PUBLISH_C1_PASSWORD="bench", DOCKET_PUBLISH_C4_PASSWORD="bench",
               DOCKET_ALLOWED_ROOTS=work)
    env.pop("DOCKET_DATABASE_URL", None)
    server = subprocess.Popen([DOCKET, "serve"], cwd=work, env=env, stdout=subprocess.PIPE, text=True)
    try:
        base = server.stdout.readline().strip().split()[-1]
        token = open(os.path.join(work, "data", "token")).read().strip()
        job = call(base, token, "POST", "/v1/jobs", {"kind": "process", "source": {"path": folder}})
        done = wait(lambda: (lambda j: j if j["state"] in ("completed", "failed") else None)(
            call(base, token, "GET", f"/v1/jobs/{job['id']}")), 600, "processing")
        assert done["counts"]["succeeded"] == args.documents, done
        for c in (1, 4):
            # Peak RSS from here on: processing's own peak is not publishing's.
            with open(f"/proc/{server.pid}/clear_refs", "w") as f:
                f.write("5")
            started = time.time()
            pub = call(base, token, "POST", f"/v1/jobs/{job['id']}/publish", {"target": f"c{c}"})
            finished = wait(lambda: (lambda j: j if j["state"] in ("completed", "failed", "cancelled") else None)(
                call(base, token, "GET", f"/v1/jobs/{pub['id']}")), 1800, "publishing")
            took = time.time() - started
            record = call(emulators[c][1], None, "GET", "/_emulator/record")
            print(json.dumps({
                "documents": args.documents, "concurrency": c, "delay_ms": args.delay_ms,
                "succeeded": finished["counts"]["succeeded"], "objects": len(record["nodes"]),
                "files": len(record["files"]), "seconds": round(took, 2),
                "documents_per_s": round(args.documents / took, 1),
                "server_peak_rss_mb": round(peak_rss(server.pid) / 1e6, 1),
            }), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        for proc, _ in emulators.values():
            proc.terminate()


if __name__ == "__main__":
    main()
