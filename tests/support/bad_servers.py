"""Servers that misbehave the way a real API can, on loopback HTTP, for the bounds tests.

- `drip_server`: answers every request with a status line and headers at once, then one
  byte of the body every `interval` seconds, for ever. Each byte resets httpx's read timeout.
- `endless_pager`: an API whose lists never end: every GraphQL node gets a full page of new
  keys, whatever its `_gt` filter says, and the Stream video list a full page of new videos,
  a second apart, whatever its `start` says (and no `total`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from graphql import parse
from graphql.language import FieldNode, IntValueNode


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@contextmanager
def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/client/v4"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def drip_server(interval: float = 0.2) -> Iterator[str]:
    """The base URL of a server whose answers never finish (one byte per `interval`)."""
    stop = threading.Event()

    class Drip(BaseHTTPRequestHandler):
        def _drip(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            try:
                while not stop.is_set():
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(interval)
            except OSError:
                return

        do_GET = do_POST = _drip

        def log_message(self, *args: object) -> None:
            pass

    with _serve(Drip) as url:
        try:
            yield url
        finally:
            stop.set()


@contextmanager
def endless_pager() -> Iterator[str]:
    """The base URL of a GraphQL API whose every list is full, page after page."""
    names = itertools.count()

    class Pager(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            query = json.loads(self.rfile.read(length))["query"]
            scope: dict[str, list] = {}
            for node in _fields(query):
                limit = next(
                    int(a.value.value)
                    for a in node.arguments
                    if a.name.value == "limit" and isinstance(a.value, IntValueNode)
                )
                dims = _dimensions(node)
                scope[node.alias.value if node.alias else node.name.value] = [
                    {
                        "count": 1,
                        "sum": {"minutesViewed": 1},
                        "dimensions": {d: f"key-{next(names):012d}" for d in dims},
                    }
                    for _ in range(limit)
                    if "datetimeHour" not in dims
                ]
            body = json.dumps({"data": {"viewer": {"accounts": [scope]}}, "errors": None})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if not url.path.endswith("/stream"):
                self.send_error(404)
                return
            limit = int(parse_qs(url.query).get("limit", ["1000"])[0])
            base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
            videos = []
            for _ in range(limit):
                n = next(names)
                created = (base + dt.timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
                videos.append({"uid": f"uid-{n:012d}", "created": created, "meta": {}})
            body = json.dumps({"success": True, "errors": [], "result": videos})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    with _serve(Pager) as url:
        yield url


def _fields(query: str) -> list[FieldNode]:
    doc = parse(query)
    viewer = doc.definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
    accounts = viewer.selection_set.selections[0]
    return list(accounts.selection_set.selections)


def _dimensions(node: FieldNode) -> list[str]:
    for sub in node.selection_set.selections:  # type: ignore[union-attr]
        if sub.name.value == "dimensions":  # type: ignore[attr-defined]
            return [f.name.value for f in sub.selection_set.selections]  # type: ignore[attr-defined]
    return []
