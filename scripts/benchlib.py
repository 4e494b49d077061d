"""What the benchmark scripts share: calling Docket's API and starting a fresh `docket serve`."""
import json
import os
import subprocess
import sys
import urllib.request

# Settings a benchmark's server must not inherit from the shell that runs it.
INHERITED = ("DOCKET_DATABASE_URL", "DOCKET_BLOBS", "DOCKET_TOKEN", "DOCKET_CONFIG")


def call(base, token, method, path, body=None, timeout=60):
    """One API call with a JSON body (if any); the answer's JSON, or None for an empty one."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


def start_serve(binary, work, **env_extra):
    """`docket serve` on a free loopback port with its data in `work`/data (SQLite unless
    `env_extra` says otherwise): (process, base URL, token)."""
    env = dict(os.environ, DOCKET_BIND="127.0.0.1:0", DOCKET_LOG="warn")
    for k in INHERITED:
        env.pop(k, None)
    env.update(env_extra)
    server = subprocess.Popen([binary, "serve"], cwd=work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = server.stdout.readline().decode().strip()
    prefix = "docket listening on "
    if not line.startswith(prefix):
        server.terminate()
        sys.exit(f"unexpected first line from docket serve: {line!r}")
    token = open(os.path.join(work, "data", "token")).read().strip()
    return server, line[len(prefix):], token
