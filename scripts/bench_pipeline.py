#!/usr/bin/env python3
"""End-to-end pipeline benchmark: documents/s through a real release `docket serve`.

Builds a corpus of multi-page PDFs (man pages typeset by groff; each copy made unique by a
trailing PDF comment so no two files share a hash), starts `target/release/docket serve` on a
fresh SQLite database and blob directory, uploads the whole batch as one `process` job, waits
for it to finish, and prints one JSON line.

    cargo build --release -p docket-cli
    python3 scripts/bench_pipeline.py --documents 300 [--workers 2]

Needs groff and man pages (see ensure_system_packages in scripts/lib.sh). Python stdlib only.
"""

import argparse
import glob
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Man pages of a few pages each: typical office documents rather than 80-page manuals.
MAN_PAGES = [
    "grep", "find", "tar", "dpkg", "ssh", "ls", "cp", "mv", "rm", "cat", "sort", "uniq", "cut",
    "sed", "chmod", "chown", "date", "df", "du", "head", "tail", "ln", "mkdir", "ps", "kill",
    "man", "gzip", "diff", "wc", "xargs", "apt-get", "env", "stat", "touch", "tr",
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def base_pdfs(cache):
    """Typesets the man pages that exist here; returns [(name, bytes, pages)]."""
    os.makedirs(cache, exist_ok=True)
    out = []
    for page in MAN_PAGES:
        sources = glob.glob(f"/usr/share/man/man1/{page}.1.gz") + glob.glob(
            f"/usr/share/man/man8/{page}.8.gz")
        if not sources:
            continue
        pdf = os.path.join(cache, f"man-{page}.pdf")
        if not os.path.exists(pdf):
            with gzip.open(sources[0], "rb") as f:
                roff = f.read()
            r = subprocess.run(["groff", "-man", "-Tpdf", "-P-pletter"], input=roff,
                               capture_output=True, check=False)
            if r.returncode != 0 or not r.stdout.startswith(b"%PDF"):
                continue
            with open(pdf + ".tmp", "wb") as f:
                f.write(r.stdout)
            os.rename(pdf + ".tmp", pdf)
        data = open(pdf, "rb").read()
        pages = data.count(b"/Type /Page\n") or data.count(b"/Type/Page")
        if pages >= 2:  # multi-page documents only
            out.append((page, data, pages))
    if len(out) < 5:
        sys.exit("need groff and installed man pages (see scripts/lib.sh)")
    return out


def multipart(files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(
            (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
             f"filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").encode())
        parts.append(data)
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return boundary, b"".join(parts)


def request(url, token, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--documents", type=int, default=300)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/docket"))
    ap.add_argument("--timeout", type=float, default=3600.0)
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} missing: cargo build --release -p docket-cli")

    bases = base_pdfs(os.path.join(ROOT, "target", "bench-pipeline-corpus"))
    files, pages = [], 0
    for i in range(args.documents):
        name, data, n = bases[i % len(bases)]
        # A comment after %%EOF: still the same document to a PDF reader, another hash to us.
        files.append((f"{i:04d}-{name}.pdf", data + f"\n% copy {i}\n".encode()))
        pages += n
    corpus_bytes = sum(len(d) for _, d in files)
    log(f"corpus: {len(files)} PDFs, {pages} pages, {corpus_bytes / 1e6:.1f} MB "
        f"({len(bases)} distinct man pages)")

    work = tempfile.mkdtemp(prefix="docket-bench-pipeline-")
    env = dict(os.environ, DOCKET_BIND="127.0.0.1:0", DOCKET_LOG="warn",
               DOCKET_WORKERS=str(args.workers))
    for k in ("DOCKET_DATABASE_URL", "DOCKET_BLOBS", "DOCKET_TOKEN", "DOCKET_CONFIG"):
        env.pop(k, None)
    server = subprocess.Popen([args.binary, "serve"], cwd=work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = server.stdout.readline().decode().strip()
        prefix = "docket listening on "
        if not line.startswith(prefix):
            sys.exit(f"unexpected first line from docket serve: {line!r}")
        base = line[len(prefix):]
        token = open(os.path.join(work, "data", "token")).read().strip()

        boundary, body = multipart(files)
        started = time.monotonic()
        job = request(f"{base}/v1/jobs", token, "POST", body,
                      {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        submitted = time.monotonic() - started
        job_id = job["id"]
        while True:
            job = request(f"{base}/v1/jobs/{job_id}", token)
            if job["state"] in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() - started > args.timeout:
                sys.exit(f"timed out: {json.dumps(job)}")
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        counts = job["counts"]
        print(json.dumps({
            "documents": len(files),
            "pages": pages,
            "corpus_mb": round(corpus_bytes / 1e6, 1),
            "workers": args.workers,
            "state": job["state"],
            "succeeded": counts["succeeded"],
            "failed": counts["failed"],
            "submit_s": round(submitted, 3),
            "seconds": round(elapsed, 2),
            "documents_per_s": round(counts["succeeded"] / elapsed, 2),
            "pages_per_s": round(pages * counts["succeeded"] / len(files) / elapsed, 1),
        }))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
