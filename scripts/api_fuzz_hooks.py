"""Schemathesis hooks for scripts/api_fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

- Synthetic `noop` jobs stay small: the API accepts up to a million items of up to a minute
  each, which would only measure the disk, not the API.
- Submits and category rules are made valid three times in four (`map_case`), so that the
  fuzzer gets past 400 into the handlers: `POST /v1/jobs` as a small `noop` job or a `process`
  job over the allowed folder (DOCKET_FUZZ_FOLDER) in JSON, or as an upload of real files with
  options in range, OCR in an installed language and no `notify_url` (the server would refuse
  a private receiver and must not call out); a category rule with a valid regular expression.
  The fourth case goes as generated, so that refusals stay exercised too. Negative cases
  (deliberately invalid data) are never touched.
- Path ids are sometimes those of real jobs, documents and categories (DOCKET_FUZZ_JOB_IDS,
  DOCKET_FUZZ_DOCUMENT_IDS, DOCKET_FUZZ_CATEGORY_IDS, comma-separated) and dashboard file names
  real ones, so that the fuzzer gets past 404 and exercises the handlers themselves; otherwise
  they are whatever the schema allows.
"""

import itertools
import json
import os

import schemathesis
from hypothesis import strategies as st


def _ids(name):
    return [i for i in os.environ.get(name, "").split(",") if i]


JOB_IDS = _ids("DOCKET_FUZZ_JOB_IDS")
DOCUMENT_IDS = _ids("DOCKET_FUZZ_DOCUMENT_IDS")
CATEGORY_IDS = _ids("DOCKET_FUZZ_CATEGORY_IDS")
DASHBOARD_FILES = ["index.html", "app.js", "app.css", "icon.svg"]
FOLDER = os.environ.get("DOCKET_FUZZ_FOLDER", "")
_COUNTER = itertools.count()

# Options the server takes, and the range it takes them in.
_OPTION_RANGES = {
    "max_workers": (1, 8),
    "max_retries": (0, 100),
    "auto_pause_after": (0, 50),
    "item_timeout_seconds": (1, 604800),
    "deadline_seconds": (1, 31622400),
}


def _valid_options(options):
    if not isinstance(options, dict):
        return {}
    out = {}
    for key, (low, high) in _OPTION_RANGES.items():
        value = options.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = min(max(value, low), high)
    if "ocr" in options:
        out["ocr"] = {"languages": ["eng"]}
    return out


def _small_int(value, low, high, default):
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, low), high)
    return default


def _valid_json_submit(body):
    body = dict(body) if isinstance(body, dict) else {}
    source = body.get("source") if isinstance(body.get("source"), dict) else {}
    if body.get("kind") == "process" and FOLDER:
        body["source"] = {"path": FOLDER}
    else:
        body["kind"] = "noop"
        body["source"] = {"count": _small_int(source.get("count"), 1, 20, 1),
                          "sleep_ms": _small_int(source.get("sleep_ms"), 0, 20, 1)}
    body["options"] = _valid_options(body.get("options"))
    return body


def _valid_upload(body):
    body = dict(body) if isinstance(body, dict) else {}
    files = body.get("files")
    if not isinstance(files, list):
        files = [files] if files else []
    files = [f for f in files if f][:5]
    body["files"] = files or [b"An invoice for twelve widgets, payable in thirty days.\n"]
    body["options"] = json.dumps(_valid_options(body.get("options")))
    return body


def _valid_category(body):
    body = dict(body) if isinstance(body, dict) else {}
    if body.get("algorithm") == "regex":
        body["pattern"] = "invoice|receipt"
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        body["name"] = "fuzzed"
    return body


def _is_negative(case):
    meta = getattr(case, "meta", None)
    generation = getattr(meta, "generation", None)
    mode = getattr(generation, "mode", None)
    return str(getattr(mode, "value", mode)).lower() == "negative"


@schemathesis.hook
def map_case(ctx, case):
    operation = case.operation
    method, path = operation.method.upper(), operation.path
    if _is_negative(case) or next(_COUNTER) % 4 == 3:
        return case
    if method == "POST" and path == "/v1/jobs":
        if (case.media_type or "").startswith("multipart/"):
            case.body = _valid_upload(case.body)
        else:
            case.body = _valid_json_submit(case.body)
    elif method in ("POST", "PUT") and path.startswith("/v1/categories"):
        case.body = _valid_category(case.body)
    return case


@schemathesis.hook
def before_load_schema(ctx, raw_schema):
    schemas = raw_schema.get("components", {}).get("schemas", {})
    source = schemas.get("JobSource", {}).get("properties", {})
    if "count" in source:
        source["count"]["maximum"] = 20
    if "sleep_ms" in source:
        source["sleep_ms"]["maximum"] = 20


@schemathesis.hook
def flatmap_path_parameters(ctx, path_parameters):
    if not path_parameters or ctx.operation is None:
        return st.just(path_parameters)
    path = ctx.operation.path
    if "file" in path_parameters and path.startswith("/dashboard/"):
        key, values = "file", DASHBOARD_FILES
    elif "id" not in path_parameters:
        return st.just(path_parameters)
    elif path.startswith("/v1/documents/"):
        key, values = "id", DOCUMENT_IDS
    elif path.startswith("/v1/jobs/"):
        key, values = "id", JOB_IDS
    elif path.startswith("/v1/categories/"):
        key, values = "id", CATEGORY_IDS
    else:
        return st.just(path_parameters)
    if not values:
        return st.just(path_parameters)
    real = st.sampled_from(values).map(lambda v: {**path_parameters, key: v})
    return st.one_of(real, st.just(path_parameters))


STATS = os.environ.get("DOCKET_FUZZ_STATS")


@schemathesis.hook
def after_call(ctx, case, response):
    """Tallies answers by operation and status (to DOCKET_FUZZ_STATS, one line each), so that
    a run says how many calls got past validation, not only that none failed."""
    if not STATS:
        return
    status = getattr(response, "status_code", None)
    with open(STATS, "a") as f:
        f.write(f"{case.operation.method.upper()} {case.operation.path} {status}\n")
