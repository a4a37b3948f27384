"""The simulator over real HTTP (stdlib wsgiref, one daemon thread per connection), so that
the production client path - base URL, sockets, headers - can be exercised end to end."""

from __future__ import annotations

import socketserver
import threading
from types import TracebackType
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .config import SimulatorConfig

if TYPE_CHECKING:
    from .app import Simulator


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class SimulatorServer:
    """A running HTTP server; `base_url` is what CLOUDFLARE_API_BASE_URL should be."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = sim
        self._httpd = make_server(
            host, port, sim.wsgi_app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}/client/v4"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"cloudflare-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> SimulatorServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def run_server(port: int, host: str = "127.0.0.1", config: SimulatorConfig | None = None) -> None:
    """Serve until Ctrl-C (the `stream-stats simulator --port N` command)."""
    from .app import Simulator

    sim = Simulator(config)
    httpd = make_server(
        host, port, sim.wsgi_app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    actual = httpd.server_address[1]
    cfg = sim.config
    print(f"Cloudflare simulator listening on http://{host}:{actual}/client/v4", flush=True)
    token = cfg.api_token if cfg.require_token else "any token"
    print(
        f"  CLOUDFLARE_API_BASE_URL=http://{host}:{actual}/client/v4 "
        f"CLOUDFLARE_ACCOUNT_ID={cfg.account_id} CLOUDFLARE_API_TOKEN=<{token}>",
        flush=True,
    )
    print("  Ctrl-C stops it.", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
