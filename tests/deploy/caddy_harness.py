"""Caddy, run on this machine with a config from deploy/caddy/, in front of a stand-in upstream
that records what reaches it. Both listen on Unix sockets in a short temporary directory:
no TCP port is opened. The config is the deployed file with only its listener and upstream
addresses replaced (each replacement must match exactly where it is expected, so a config whose
shape changed fails here instead of being tested half).
"""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.deploy_files import caddy_binary

Reply = tuple[int, dict[str, str], bytes]


def replace_once(text: str, old: str, new: str, *, where: str) -> str:
    count = text.count(old)
    assert count == 1, f"{where}: expected {old!r} once, found it {count} times"
    return text.replace(old, new)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Upstream:
    """An HTTP server on a Unix socket that answers with `reply` and records each request."""

    path: Path
    reply: Callable[[str, str], Reply]
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                upstream.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                status, headers, payload = upstream.reply(self.command, self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if status != 204:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if status != 204:
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

            def log_message(self, *args: object) -> None:
                pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self._server = Server(str(self.path), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a short path (a Unix socket path is at most 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="ss-caddy-", dir="/tmp") as tmp:
        yield Path(tmp)


@contextmanager
def running_caddy(
    config: str,
    tmp: Path,
    *,
    sockets: list[Path],
    tls: dict[Path, str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[None]:
    """`caddy run` on `config` (Caddyfile text) until the block ends; first waits until each of
    `sockets` accepts connections, and each socket in `tls` completes a handshake for its host
    name: Caddy listens before its certificate is issued (in the background, even from its
    internal CA), and until then it answers a handshake with an internal-error alert."""
    caddyfile = tmp / "Caddyfile"
    caddyfile.write_text(config)
    log = tmp / "caddy.log"
    home = tmp / "home"
    home.mkdir()
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [str(caddy_binary()), "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            # Caddy keeps its data (the internal CA) under XDG_DATA_HOME: the temporary one
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": str(home),
                "XDG_DATA_HOME": str(home),
                "XDG_CONFIG_HOME": str(home),
                **(env or {}),
            },
        )
    try:
        deadline = time.monotonic() + 30
        ready = [lambda s=s: _accepts(s) for s in sockets]
        ready += [lambda s=s, h=h: _handshakes(s, h) for s, h in (tls or {}).items()]
        while not all(check() for check in ready):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"caddy did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.02)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _accepts(path: Path) -> bool:
    """Whether something listens on the Unix socket `path` (the file appears at bind, before
    listen)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _handshakes(path: Path, host: str) -> bool:
    """Whether the TLS listener on `path` completes a handshake for `host`."""
    connection = UnixHTTPSConnection(path, host)
    try:
        connection.connect()
    except OSError:  # ssl.SSLError included
        return False
    finally:
        connection.close()
    return True


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, host: str = "localhost") -> None:
        super().__init__(host, timeout=10)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(str(self._path))


class UnixHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS over a Unix socket, with SNI `host`. The certificate is not verified: Caddy's
    internal CA is made at its start; what is tested is the authentication behind TLS."""

    def __init__(self, path: Path, host: str) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__(host, timeout=10, context=context)
        self._path = path
        self._context = context

    def connect(self) -> None:
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.settimeout(10)
        raw.connect(str(self._path))
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


# A stand-in Docker Engine: enough of the API for docker-py's calls to succeed when the filter
# lets them through (the version probe, create, inspect, start, stop); anything else is
# answered 200 too, so a call the filter should have refused would show as let through.
CONTAINER_ID = "5f0c1d2e3a4b" * 5 + "abcd"  # 64 hex digits, as Docker's ids


def docker_engine_reply(method: str, path: str) -> Reply:
    json_type = {"Content-Type": "application/json"}
    route = path.split("?", 1)[0]
    if route == "/version":
        body = {"ApiVersion": "1.45", "MinAPIVersion": "1.24", "Version": "27.3.1"}
        return 200, json_type, json.dumps(body).encode()
    if route.endswith("/containers/create"):
        return 201, json_type, json.dumps({"Id": CONTAINER_ID, "Warnings": []}).encode()
    if route.endswith(f"/containers/{CONTAINER_ID}/json"):
        body = {
            "Id": CONTAINER_ID,
            "Name": "/run",
            "State": {"Status": "running"},
            "Config": {"Tty": False},
        }
        return 200, json_type, json.dumps(body).encode()
    if method == "POST" and route.endswith(("/start", "/stop")):
        return 204, {}, b""
    return 200, json_type, b"{}"
