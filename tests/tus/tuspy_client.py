#!/usr/bin/env python3
"""Uploads one file to Docket with tuspy (PyPI), the stock Python tus client.

Prints `url URL` once the upload exists and `done OFFSET` when it is finished, one line each,
flushed, so the test driving it can kill it mid-file and start another process with --url.

    tuspy_client.py --endpoint URL/v1/uploads --token T --file PATH [--chunk-size N]
                    [--url UPLOAD_URL] [--delay-ms MS] [--checksum sha256|wrong]
"""
import argparse
import hashlib
import sys
import time

from tusclient import client
from tusclient.exceptions import TusCommunicationError
from tusclient.uploader import Uploader


class WrongSha256:
    """A sha256 that hashes something else: the client sends a checksum its data does not match."""

    def __init__(self, *args):
        self.inner = hashlib.sha256(b"not the data")

    def update(self, data):
        pass

    def digest(self):
        return self.inner.digest()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--chunk-size", type=int, default=1024 * 1024)
    p.add_argument("--url")
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--checksum", choices=["none", "sha256", "wrong"], default="none")
    a = p.parse_args()

    if a.checksum == "sha256":
        Uploader.CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)
    elif a.checksum == "wrong":
        Uploader.CHECKSUM_ALGORITHM_PAIR = ("sha256", WrongSha256)
    tus = client.TusClient(a.endpoint, headers={"Authorization": "Bearer " + a.token})
    try:
        # With --url, the uploader asks the server for the offset (HEAD) and goes on from it.
        uploader = tus.uploader(
            a.file,
            url=a.url,
            chunk_size=a.chunk_size,
            metadata={"filename": a.file.rsplit("/", 1)[-1], "filetype": "text/plain"},
            upload_checksum=a.checksum != "none",
            retries=0,
        )
        if uploader.url is None:
            uploader.set_url(uploader.create_url())
            uploader.offset = 0
        print("url", uploader.url, flush=True)
        size = uploader.get_file_size()
        while uploader.offset < size:
            uploader.upload_chunk()
            print("offset", uploader.offset, flush=True)
            if a.delay_ms:
                time.sleep(a.delay_ms / 1000)
    except TusCommunicationError as e:
        print("error", e.status_code, flush=True)
        sys.exit(3)
    print("done", uploader.offset, flush=True)


if __name__ == "__main__":
    main()
