"""Schemathesis hooks for scripts/api_fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

- Synthetic `noop` jobs stay small: the API accepts up to a million items of up to a minute
  each, which would only measure the disk, not the API.
- Path ids are sometimes those of real jobs, documents and categories (DOCKET_FUZZ_JOB_IDS,
  DOCKET_FUZZ_DOCUMENT_IDS, DOCKET_FUZZ_CATEGORY_IDS, comma-separated) and dashboard file names
  real ones, so that the fuzzer gets past 404 and exercises the handlers themselves; otherwise
  they are whatever the schema allows.
"""

import os

import schemathesis
from hypothesis import strategies as st


def _ids(name):
    return [i for i in os.environ.get(name, "").split(",") if i]


JOB_IDS = _ids("DOCKET_FUZZ_JOB_IDS")
DOCUMENT_IDS = _ids("DOCKET_FUZZ_DOCUMENT_IDS")
CATEGORY_IDS = _ids("DOCKET_FUZZ_CATEGORY_IDS")
DASHBOARD_FILES = ["index.html", "app.js", "app.css", "icon.svg"]


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
