#!/usr/bin/env python3
"""Docket against the tools a user would otherwise pick, alternating, in one sitting.

Run by scripts/bench_peers.sh (which installs the peers); see BENCHMARKS.md. Three workloads,
each round running every contender once, in turn, so that drift of the machine hits all alike:

  engine    N no-op jobs: BullMQ (Redis) and graphile-worker (PostgreSQL) against
            `docket bench engine` on SQLite and on PostgreSQL; enqueue and work per second.
  pdf       the same text-layer PDFs: `pdftotext`, one process per core, against Docket's
            submit-to-searchable (a fresh `docket serve`, one multipart job, until completed),
            with the word similarity of Docket's text to pdftotext's.
  ocr       the same 300-dpi page images: the `tesseract` CLI tuned the usual way
            (OMP_THREAD_LIMIT=1, one process per core) against Docket's submit-to-searchable,
            with each side's character error rate against the PDF's own text layer.

Prints one JSON line per run on stderr as it goes, then a table of medians and the ratios.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pipeline import base_pdfs, multipart, request  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "scripts", "peers")
CORES = os.cpu_count() or 1


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_json(cmd, env=None, cwd=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def fresh_database(admin_url, name):
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", admin_url, "-qAtc", sql], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return re.sub(r"/[^/]*$", f"/{name}", admin_url)


# ---------------------------------------------------------------- engine

def engine_round(args):
    out = []
    out.append(run_json(["node", os.path.join(PEERS, "bullmq_bench.mjs"), "--items",
                         str(args.items), "--redis", args.redis]))
    r = run_json([args.binary, "bench", "engine", "--items", str(args.items)])
    out.append({"peer": "docket-sqlite", **r})
    url = fresh_database(args.postgres, "docket_peer_graphile")
    out.append(run_json(["node", os.path.join(PEERS, "graphile_bench.mjs"), "--items",
                         str(args.items), "--database", url]))
    url = fresh_database(args.postgres, "docket_peer_engine")
    r = run_json([args.binary, "bench", "engine", "--items", str(args.items), "--database", url])
    out.append({"peer": "docket-postgres", **r})
    return out


# ---------------------------------------------------------------- a docket server

class Server:
    def __init__(self, binary, env_extra=None):
        self.work = tempfile.mkdtemp(prefix="docket-bench-peers-")
        # Reading every document back is hundreds of requests a second: no API budget here.
        with open(os.path.join(self.work, "docket.toml"), "w") as f:
            f.write("[rate_limit]\nrequests_per_second = 1000000\nburst = 1000000\n")
        # Docket's defaults, as a new user runs it (workers and extractor processes too).
        env = dict(os.environ, DOCKET_BIND="127.0.0.1:0", DOCKET_LOG="warn")
        for k in ("DOCKET_DATABASE_URL", "DOCKET_BLOBS", "DOCKET_TOKEN", "DOCKET_CONFIG",
                  "DOCKET_WORKERS", "DOCKET_EXTRACT_PROCESSES"):
            env.pop(k, None)
        env.update(env_extra or {})
        self.proc = subprocess.Popen([binary, "serve"], cwd=self.work, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode().strip()
        prefix = "docket listening on "
        if not line.startswith(prefix):
            self.close()
            sys.exit(f"unexpected first line from docket serve: {line!r}")
        self.base = line[len(prefix):]
        self.token = open(os.path.join(self.work, "data", "token")).read().strip()

    def get_text(self, path):
        req = urllib.request.Request(self.base + path)
        req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.read().decode("utf-8", "replace")

    def submit_until_done(self, files, content_type, timeout):
        """Seconds from the start of the upload to the poll that sees the job finished."""
        boundary, body = multipart(files)
        body = body.replace(b"Content-Type: application/pdf", f"Content-Type: {content_type}"
                            .encode())
        started = time.monotonic()
        job = request(f"{self.base}/v1/jobs", self.token, "POST", body,
                      {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        while True:
            job = request(f"{self.base}/v1/jobs/{job['id']}", self.token)
            if job["state"] in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() - started > timeout:
                sys.exit(f"timed out: {json.dumps(job)}")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        if job["state"] != "completed" or job["counts"]["succeeded"] != len(files):
            sys.exit(f"the job did not complete every file: {json.dumps(job)}")
        return job, elapsed

    def texts(self, job_id):
        """{item name: document text} of a finished job."""
        out = {}
        for line in self.get_text(f"/v1/jobs/{job_id}/results?format=ndjson").splitlines():
            result = json.loads(line)
            doc = result["output"]["document_id"]
            meta = json.loads(self.get_text(f"/v1/documents/{doc}"))
            out[meta["name"]] = self.get_text(f"/v1/documents/{doc}/text")
        return out

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.work, ignore_errors=True)


def in_parallel(commands):
    """Runs the commands, one per core at a time; their stdouts in order."""
    def one(cmd):
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        return subprocess.run(cmd, capture_output=True, check=True, env=env).stdout
    with concurrent.futures.ThreadPoolExecutor(max_workers=CORES) as pool:
        return list(pool.map(one, commands))


def words(text):
    return re.findall(r"\w+", text.lower())


def word_similarity(a, b):
    """Shared words (as multisets) over all words: 1.0 when the two texts say the same."""
    ca, cb = collections.Counter(words(a)), collections.Counter(words(b))
    total = sum(ca.values()) + sum(cb.values())
    return 1.0 if total == 0 else 2 * sum((ca & cb).values()) / total


def char_error_rate(reference, text):
    """Levenshtein distance over the reference's length, whitespace-normalised."""
    from rapidfuzz.distance import Levenshtein
    ref = " ".join(reference.split())
    return Levenshtein.distance(ref, " ".join(text.split())) / max(1, len(ref))


# ---------------------------------------------------------------- pdf

def pdf_corpus(args, work):
    bases = base_pdfs(os.path.join(ROOT, "target", "bench-pipeline-corpus"))
    files, pages = [], 0
    for i in range(args.documents):
        name, data, n = bases[i % len(bases)]
        files.append((f"{i:04d}-{name}.pdf", data + f"\n% copy {i}\n".encode()))
        pages += n
    folder = os.path.join(work, "pdfs")
    os.makedirs(folder, exist_ok=True)
    for name, data in files:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    return files, pages, folder


def pdf_round(args, files, pages, folder):
    out = []
    started = time.monotonic()
    texts = in_parallel([["pdftotext", "-enc", "UTF-8", os.path.join(folder, n), "-"]
                         for n, _ in files])
    took = time.monotonic() - started
    reference = {n: t.decode("utf-8", "replace") for (n, _), t in zip(files, texts)}
    out.append({"peer": "pdftotext", "documents": len(files), "pages": pages,
                "seconds": round(took, 3), "pages_per_s": round(pages / took, 1)})
    server = Server(args.binary)
    try:
        job, took = server.submit_until_done(files, "application/pdf", args.timeout)
        got = server.texts(job["id"])
    finally:
        server.close()
    similarity, worst = min((word_similarity(reference[n], got.get(n, "")), n)
                            for n, _ in files)
    if args.keep_texts:
        os.makedirs(args.keep_texts, exist_ok=True)
        for side, text in (("pdftotext", reference[worst]), ("docket", got.get(worst, ""))):
            with open(os.path.join(args.keep_texts, f"{worst}.{side}.txt"), "w") as f:
                f.write(text)
    out.append({"peer": "docket-pdf", "documents": len(files), "pages": pages,
                "seconds": round(took, 3), "pages_per_s": round(pages / took, 1),
                "min_similarity": round(similarity, 4), "least_similar": worst})
    return out


# ---------------------------------------------------------------- ocr

def ocr_corpus(args, work):
    """Page images at 300 dpi from the text-layer PDFs, with each page's own text."""
    bases = base_pdfs(os.path.join(ROOT, "target", "bench-pipeline-corpus"))
    folder = os.path.join(work, "pages")
    os.makedirs(folder, exist_ok=True)
    pages = []
    for name, data, n in bases:
        pdf = os.path.join(work, f"{name}.pdf")
        with open(pdf, "wb") as f:
            f.write(data)
        for page in range(1, n + 1):
            if len(pages) >= args.pages:
                break
            stem = os.path.join(folder, f"{len(pages):03d}-{name}-p{page}")
            subprocess.run(["pdftoppm", "-r", "300", "-png", "-singlefile", "-f", str(page),
                            "-l", str(page), pdf, stem], check=True)
            text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), pdf, "-"],
                                  capture_output=True, check=True).stdout.decode()
            pages.append((os.path.basename(stem) + ".png", text))
        if len(pages) >= args.pages:
            break
    return pages, folder


def ocr_round(args, pages, folder):
    out = []
    started = time.monotonic()
    texts = in_parallel([["tesseract", os.path.join(folder, n), "stdout"] for n, _ in pages])
    took = time.monotonic() - started
    cer = statistics.mean(char_error_rate(ref, t.decode("utf-8", "replace"))
                          for (_, ref), t in zip(pages, texts))
    out.append({"peer": "tesseract-cli", "pages": len(pages), "seconds": round(took, 2),
                "pages_per_s": round(len(pages) / took, 3), "cer": round(cer, 4)})
    files = [(n, open(os.path.join(folder, n), "rb").read()) for n, _ in pages]
    server = Server(args.binary)
    try:
        job, took = server.submit_until_done(files, "image/png", args.timeout)
        got = server.texts(job["id"])
    finally:
        server.close()
    cer = statistics.mean(char_error_rate(ref, got.get(n, "")) for n, ref in pages)
    out.append({"peer": "docket-ocr", "pages": len(pages), "seconds": round(took, 2),
                "pages_per_s": round(len(pages) / took, 3), "cer": round(cer, 4)})
    return out


# ---------------------------------------------------------------- report

def median_of(runs, peer, key):
    values = [r[key] for r in runs if r["peer"] == peer and key in r]
    return statistics.median(values) if values else None


def report(runs, args):
    rows = []

    def ratio(name, ours, peer, key, target):
        a, b = median_of(runs, ours, key), median_of(runs, peer, key)
        if a is None or b is None:
            return
        # Each round runs both sides back to back, so the round's own ratio is free of the
        # machine's drift between rounds; the verdict is the median of those.
        by_round = {}
        for r in runs:
            if r["peer"] in (ours, peer) and key in r:
                by_round.setdefault(r["round"], {})[r["peer"]] = r[key]
        paired = [v[ours] / v[peer] for v in by_round.values()
                  if ours in v and peer in v and v[peer]]
        r = statistics.median(paired) if paired else float("inf")
        verdict = "met" if r >= target else "NOT met"
        rows.append((name, f"{a:,.1f}", f"{b:,.1f}", f"{a / b if b else float('inf'):.2f}x",
                     f"{r:.2f}x", f">= {target}x", verdict))

    ratio("SQLite work vs BullMQ", "docket-sqlite", "bullmq", "work_per_s", 6)
    ratio("SQLite enqueue vs graphile-worker", "docket-sqlite", "graphile-worker",
          "enqueue_per_s", 10)
    ratio("PostgreSQL work vs graphile-worker", "docket-postgres", "graphile-worker",
          "work_per_s", 10)
    ratio("PostgreSQL enqueue vs graphile-worker", "docket-postgres", "graphile-worker",
          "enqueue_per_s", 4)
    ratio("PDF pages/s vs pdftotext", "docket-pdf", "pdftotext", "pages_per_s", 1.0)
    ratio("OCR pages/s vs tesseract CLI", "docket-ocr", "tesseract-cli", "pages_per_s", 1.3)
    print(f"\nDocket against its peers: medians of {args.rounds} alternating rounds, "
          f"{CORES} cores, {time.strftime('%Y-%m-%d')}\n")
    print("| measure | Docket | peer | ratio of medians | median of round ratios | target | |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    sim = median_of(runs, "docket-pdf", "min_similarity")
    if sim is not None:
        print(f"\nPDF text: lowest word similarity to pdftotext {sim:.4f} (target >= 0.98)")
    ours, theirs = median_of(runs, "docket-ocr", "cer"), median_of(runs, "tesseract-cli", "cer")
    if ours is not None and theirs is not None:
        print(f"OCR character error rate against the text layer: Docket {ours:.2%}, "
              f"tesseract CLI {theirs:.2%} (target: no worse)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/docket"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=["engine", "pdf", "ocr"], action="append")
    ap.add_argument("--items", type=int, default=100_000, help="no-op jobs per engine run")
    ap.add_argument("--documents", type=int, default=240, help="PDFs per pdf run")
    ap.add_argument("--pages", type=int, default=12, help="page images per ocr run")
    ap.add_argument("--postgres", default=os.environ.get(
        "DOCKET_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--redis", default="redis://127.0.0.1:6379")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--keep-texts", metavar="DIR",
                    help="save both texts of the least similar PDF here")
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} missing: cargo build --release -p docket-cli")
    only = set(args.only or ["engine", "pdf", "ocr"])

    work = tempfile.mkdtemp(prefix="docket-bench-peers-corpus-")
    try:
        if "pdf" in only:
            files, pages, pdf_folder = pdf_corpus(args, work)
            log(f"pdf corpus: {len(files)} PDFs, {pages} pages")
        if "ocr" in only:
            images, image_folder = ocr_corpus(args, work)
            log(f"ocr corpus: {len(images)} pages at 300 dpi")
        runs = []
        for round_no in range(1, args.rounds + 1):
            for name, workload in (("engine", lambda: engine_round(args)),
                                   ("pdf", lambda: pdf_round(args, files, pages, pdf_folder)),
                                   ("ocr", lambda: ocr_round(args, images, image_folder))):
                if name not in only:
                    continue
                for r in workload():
                    r["round"] = round_no
                    log(json.dumps(r))
                    runs.append(r)
        report(runs, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
