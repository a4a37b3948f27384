"""Loopback S3 servers for tests: `moto_server` as a subprocess, and a scripted stub.

`moto_server()` starts moto's S3 API on 127.0.0.1 (a random port) in its own process, so a
test can also stop it mid-run (`server.stop()`) to exercise an unreachable endpoint. moto
accepts any credentials and answers a failed conditional PUT 412 like R2; its launcher makes
each PUT's condition check and write one step, as R2's are (moto alone does not).

`stub_s3_server(handler)` serves every request with a function of the request, e.g. 403 with
R2's XML error body to test refused credentials (which moto never refuses).

`clear_aws_env(monkeypatch)` removes every `AWS_*` variable and points the AWS config files at
/dev/null, so that nothing on the machine (profiles, endpoint overrides, CA bundles, checksum
settings) changes what a test's client does; `aws_free_env(env)` does the same to an
environment mapping for a child process.

The benchmark (`bench/`) uses the same server: `moto_server(count_requests=True)` also
counts the requests moto answers (method, status, bytes; `S3Server.request_counts()`), and
`S3Server.objects` / `upload_dir` inspect and fill buckets.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEST_ACCESS_KEY_ID = "test-access-key-id"
TEST_SECRET_ACCESS_KEY = "test-secret-access-key"

_PORT_LINE = re.compile(r"Running on http://127\.0\.0\.1:(\d+)")


# No profile, endpoint override, CA bundle or checksum setting on the machine reaches boto3.
NO_AWS_CONFIG_FILES = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


def clear_aws_env(monkeypatch: Any, **keep: str) -> None:
    """Delete every AWS_* variable, then set the AWS config files to /dev/null and `keep`."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name, raising=False)
    for name, value in {**NO_AWS_CONFIG_FILES, **keep}.items():
        monkeypatch.setenv(name, value)


def aws_free_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without AWS_* variables, with the AWS config files pointed at /dev/null."""
    return {**{k: v for k, v in env.items() if not k.startswith("AWS_")}, **NO_AWS_CONFIG_FILES}


def free_port() -> int:
    """A port nobody listens on (bound and released, so connecting to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def moto_executable() -> Path:
    path = Path(sys.executable).parent / "moto_server"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: install the dev group (moto[server])")
    return path


# `moto_server` through a launcher that makes it closer to R2:
# - a PUT's condition check and its write are one step (R2's conditional PUTs are atomic;
#   moto checks If-Match / If-None-Match and then writes, with other requests' threads
#   running in between, so two racing conditional PUTs could both succeed);
# - with the argument `count`, one extra stderr line per answered request
#   (`count_requests=True`): "S3_REQUEST <method> <status> <request body bytes>", the body
#   size decoded when the client sends an aws-chunked body.
_LAUNCHER = """
import sys
import threading
from moto.s3.responses import S3Response
from werkzeug.serving import WSGIRequestHandler

_put_object = S3Response.put_object
_one_put_at_a_time = threading.Lock()


def put_object(self):
    with _one_put_at_a_time:
        return _put_object(self)


S3Response.put_object = put_object

if sys.argv.pop(1) == "count":
    _log_request = WSGIRequestHandler.log_request

    def log_request(self, code="-", size="-"):
        headers = self.headers
        length = headers.get("x-amz-decoded-content-length") or headers.get("Content-Length") or 0
        sys.stderr.write(f"S3_REQUEST {self.command} {code} {length}\\n")
        _log_request(self, code, size)

    WSGIRequestHandler.log_request = log_request

from moto.server import main

sys.exit(main())
"""
_REQUEST_LINE = re.compile(r"^S3_REQUEST (\S+) (\S+) (\d+)")


class RequestCounts:
    """What moto answered, by method (the same names for every method): `PUT` requests,
    `PUT_2xx` (`_4xx`, ...) by status class, `PUT_bytes` of request bodies and
    `PUT_2xx_bytes` of the bodies of the requests answered 2xx."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}
        self.last_seen = 0.0

    def add(self, method: str, status: str, body_bytes: int) -> None:
        with self._lock:
            status_class = f"{method}_{status[:1]}xx"
            for name, amount in (
                (method, 1),
                (status_class, 1),
                (f"{method}_bytes", body_bytes),
                (f"{status_class}_bytes", body_bytes),
            ):
                self._values[name] = self._values.get(name, 0) + amount
            self.last_seen = time.monotonic()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)


@dataclass
class S3Server:
    endpoint_url: str
    process: subprocess.Popen[str]
    log: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    started_in: float = 0.0
    requests: RequestCounts | None = None  # with moto_server(count_requests=True)
    _client: Any = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def pid(self) -> int:
        return self.process.pid

    def request_counts(self, settle: float = 0.3, timeout: float = 5.0) -> dict[str, int]:
        """The request counters (cumulative; diff two snapshots for an interval), once no new
        request line has arrived for `settle` s: moto logs a request as it answers it, and
        the log is read by a thread, so the last lines of a finished client can lag."""
        if self.requests is None:
            raise RuntimeError("moto_server(count_requests=True) counts requests")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if time.monotonic() - self.requests.last_seen >= settle:
                break
            time.sleep(0.05)
        return self.requests.snapshot()

    def stop(self) -> None:
        """Stop the server (idempotent); afterwards its port refuses connections."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def reset(self, timeout: float = 5.0) -> None:
        """Forget every bucket and object (moto's reset endpoint; frees moto's memory)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=timeout):
            pass

    def client(self) -> Any:
        """A plain boto3 client (us-east-1) for test setup: creating buckets, inspecting objects."""
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name="us-east-1",
                aws_access_key_id=TEST_ACCESS_KEY_ID,
                aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
            )
        return self._client

    def create_bucket(self, name: str) -> None:
        """Create a bucket (us-east-1: moto rejects CreateBucket in region `auto`)."""
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
def moto_server(timeout: float = 20.0, *, count_requests: bool = False) -> Iterator[S3Server]:
    """Run `moto_server -H 127.0.0.1 -p 0` as a subprocess; yield it once it answers.

    `count_requests`: run moto's `main` through a launcher that logs every answered request
    (the same server; `S3Server.request_counts()` reads the counts)."""
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    moto_executable()  # moto[server] installed
    command = [sys.executable, "-c", _LAUNCHER, "count" if count_requests else "plain"]
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    log: deque[str] = deque(maxlen=200)
    port_found = threading.Event()
    port: list[int] = []
    counts = RequestCounts() if count_requests else None

    def drain() -> None:
        # Keep reading: werkzeug logs every request to stderr and would block on a full pipe.
        assert process.stderr is not None
        for line in process.stderr:
            if counts is not None and (request := _REQUEST_LINE.match(line)):
                counts.add(request[1], request[2], int(request[3]))
                continue
            log.append(line.rstrip())
            if not port_found.is_set() and (match := _PORT_LINE.search(line)):
                port.append(int(match.group(1)))
                port_found.set()

    threading.Thread(target=drain, name="moto_server-log", daemon=True).start()
    server = S3Server(endpoint_url="", process=process, log=log, requests=counts)
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
        server.started_in = time.monotonic() - started
        yield server
    finally:
        server.stop()


def r2_store_for(endpoint_url: str, **client_options: Any) -> Any:
    """An `R2Store` with the test keys; `client_options` go to `make_r2_client`
    (e.g. `max_attempts=0, connect_timeout=2` for fast fault tests)."""
    from stream_stats_dagster.storage.r2 import R2Store, make_r2_client

    options: dict[str, Any] = {
        "aws_access_key_id": TEST_ACCESS_KEY_ID,
        "aws_secret_access_key": TEST_SECRET_ACCESS_KEY,
        **client_options,
    }
    return R2Store(make_r2_client(endpoint_url=endpoint_url, **options), endpoint_url)


# -- scripted stub -----------------------------------------------------------------------


@dataclass
class StubRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StubResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def s3_error(status: int, code: str, message: str = "") -> StubResponse:
    """An S3/R2-style XML error response."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message or code}</Message></Error>"
    ).encode()
    return StubResponse(status, body, {"Content-Type": "application/xml"})


@dataclass
class StubServer:
    endpoint_url: str
    requests: list[StubRequest]


@contextlib.contextmanager
def stub_s3_server(handler: Callable[[StubRequest], StubResponse]) -> Iterator[StubServer]:
    """An HTTP server on 127.0.0.1 answering every request with `handler(request)`."""
    seen: list[StubRequest] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = StubRequest(self.command, self.path, dict(self.headers.items()), body)
            seen.append(request)
            response = handler(request)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="stub-s3", daemon=True
    )
    thread.start()
    try:
        yield StubServer(f"http://127.0.0.1:{httpd.server_address[1]}", seen)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
