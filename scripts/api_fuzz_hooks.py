"""Schemathesis hooks for scripts/api_fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

- Synthetic `noop` jobs stay small: the API accepts up to a million items of up to a minute
  each, which would only measure the disk, not the API.
- Path ids are sometimes those of real jobs and documents (DOCKET_FUZZ_JOB_IDS and
  DOCKET_FUZZ_DOCUMENT_IDS, comma-separated), so that the fuzzer gets past 404 and exercises the
  handlers themselves; otherwise they are whatever the schema allows.
"""

import os

import schemathesis
from hypothesis import strategies as st


def _ids(name):
    return [i for i in os.environ.get(name, "").split(",") if i]


JOB_IDS = _ids("DOCKET_FUZZ_JOB_IDS")
DOCUMENT_IDS = _ids("DOCKET_FUZZ_DOCUMENT_IDS")


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
    if not path_parameters or "id" not in path_parameters or ctx.operation is None:
        return st.just(path_parameters)
    if ctx.operation.path.startswith("/v1/documents/"):
        ids = DOCUMENT_IDS
    elif ctx.operation.path.startswith("/v1/jobs/"):
        ids = JOB_IDS
    else:
        ids = []
    if not ids:
        return st.just(path_parameters)
    real = st.sampled_from(ids).map(lambda i: {**path_parameters, "id": i})
    return st.one_of(real, st.just(path_parameters))
