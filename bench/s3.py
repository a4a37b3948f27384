"""The local S3 server for the benchmark: `moto_server` in its own process on loopback.

Same launch logic as `tests/support/s3server.py` (benchmarks do not import tests): moto
accepts any credentials and implements R2's conditional PUTs, so the project's `R2Store`
runs against it unchanged.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCESS_KEY_ID = "bench-access-key-id"
SECRET_ACCESS_KEY = "bench-secret-access-key"
_PORT_LINE = re.compile(r"Running on http://127\.0\.0\.1:(\d+)")


def moto_executable() -> Path:
    path = Path(sys.executable).parent / "moto_server"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: install the dev group (moto[server])")
    return path


def clean_aws_env(env: dict[str, str]) -> dict[str, str]:
    """`env` without AWS_* variables, with the AWS config files pointed at /dev/null."""
    out = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    out["AWS_CONFIG_FILE"] = os.devnull
    out["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return out


@dataclass
class S3Server:
    endpoint_url: str
    process: subprocess.Popen[str]
    log: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    _client: Any = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def reset(self) -> None:
        """Forget every bucket and object (frees moto's memory between cases)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass

    def client(self) -> Any:
        """A plain boto3 client (us-east-1) for setup and inspection."""
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name="us-east-1",
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
            )
        return self._client

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def objects(self, bucket: str) -> dict[str, tuple[str, int]]:
        """key -> (etag, size) of every object in the bucket."""
        out: dict[str, tuple[str, int]] = {}
        paginator = self.client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket):
            for item in page.get("Contents", ()):
                out[item["Key"]] = (item["ETag"].strip('"'), int(item["Size"]))
        return out

    def upload_dir(self, root: Path, bucket: str) -> int:
        """Upload every file under `root` as `bucket`/<relative path>; returns the count."""
        client, n = self.client(), 0
        for path in sorted(root.rglob("*")):
            if path.is_file():
                key = path.relative_to(root).as_posix()
                client.put_object(
                    Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType="application/json"
                )
                n += 1
        return n


@contextlib.contextmanager
def moto_server(timeout: float = 30.0) -> Iterator[S3Server]:
    """Run `moto_server -H 127.0.0.1 -p 0`; yield it once it answers."""
    started = time.monotonic()
    env = clean_aws_env(dict(os.environ))
    process = subprocess.Popen(
        [str(moto_executable()), "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    log: deque[str] = deque(maxlen=200)
    port_found = threading.Event()
    port: list[int] = []

    def drain() -> None:
        # Keep reading: werkzeug logs every request to stderr and would block on a full pipe.
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line.rstrip())
            if not port_found.is_set() and (match := _PORT_LINE.search(line)):
                port.append(int(match.group(1)))
                port_found.set()

    threading.Thread(target=drain, name="moto_server-log", daemon=True).start()
    server = S3Server(endpoint_url="", process=process, log=log)
    try:
        if not port_found.wait(timeout):
            raise RuntimeError(f"moto_server printed no port within {timeout} s: {list(log)}")
        server.endpoint_url = f"http://127.0.0.1:{port[0]}"
        deadline = started + timeout
        while True:
            try:
                with urllib.request.urlopen(server.endpoint_url + "/", timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # any HTTP answer means it serves
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"moto_server does not answer: {list(log)}") from None
                time.sleep(0.02)
        yield server
    finally:
        server.stop()
