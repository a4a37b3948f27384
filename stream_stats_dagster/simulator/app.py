"""The simulator: one object holding the platform, limits, faults and counters, served as a
WSGI app under `/client/v4` (in-process through httpx.WSGITransport, or over HTTP)."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx

from .budget import Clock, RestLimiter, SlidingWindow, fixed_or_system_clock
from .config import SimulatorConfig
from .faults import REST_RATE_MESSAGE, Fault, FaultQueue, StaleSample, fault_response, truncate
from .graphql_api import GraphQLApi
from .platform import Platform
from .responses import REASONS, Response, graphql_error, graphql_errors, json_response, rest_error
from .rest_api import RestApi

if TYPE_CHECKING:
    from .server import SimulatorServer

PREFIX = "/client/v4"
_REST_PATH = re.compile(r"^/accounts/([^/]+)/stream(?:/([^/]+))?/?$")
StartResponse = Callable[..., Any]


@dataclass
class Stats:
    """Counters for tests and benchmarks: requests that reached each API, and data nodes
    executed (the unit of Cloudflare's GraphQL budget)."""

    graphql_requests: int = 0
    nodes: int = 0
    rest_calls: int = 0
    faults: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def reset(self) -> None:
        with self._lock:
            self.graphql_requests = self.nodes = self.rest_calls = self.faults = 0

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {
                f: getattr(self, f) for f in ("graphql_requests", "nodes", "rest_calls", "faults")
            }


class Simulator:
    """A stand-in for the Cloudflare API surface the project uses. Cheap to create: the
    platform's data is built on the first request that needs it."""

    def __init__(self, config: SimulatorConfig | None = None, *, clock: Clock | None = None):
        self.config = config or SimulatorConfig()
        self.clock: Clock = clock or fixed_or_system_clock(self.config.now)
        self.platform = Platform(self.config)
        self.stats = Stats()
        self.faults = FaultQueue()
        self.stale_samples: list[StaleSample] = []
        cfg = self.config
        self.node_budget = (
            SlidingWindow(cfg.node_budget_limit, cfg.budget_window_seconds, self.clock)
            if cfg.node_budget
            else None
        )
        self.rest_limiter = (
            RestLimiter(cfg.rest_budget_limit, cfg.budget_window_seconds, self.clock)
            if cfg.rest_budget
            else None
        )
        self._graphql = GraphQLApi(self)
        self._rest = RestApi(self)

    # --- public helpers ----------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        """Queue a fault for the next matching API calls."""
        self.faults.push(fault)

    def serve_stale(self, dimension: str, start: dt.datetime, end: dt.datetime) -> None:
        """From now on, nodes grouped by `dimension` miss records in [start, end) (see
        `StaleSample`)."""
        self.stale_samples.append(StaleSample(dimension, start.timestamp(), end.timestamp()))

    def serve_empty(self, start: dt.datetime, end: dt.datetime) -> None:
        """From now on, every node answers as if there were no records in [start, end)."""
        self.stale_samples.append(StaleSample(None, start.timestamp(), end.timestamp(), 1))

    def clear_faults(self) -> None:
        """Queued faults and stale samples: the API answers truly again."""
        self.faults.clear()
        self.stale_samples.clear()

    def transport(self) -> httpx.WSGITransport:
        """For `httpx.Client(transport=sim.transport(), base_url="http://sim/client/v4")`."""
        return httpx.WSGITransport(app=self.wsgi_app)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
        """Serve over HTTP from a background thread; `server.close()` stops it."""
        from .server import SimulatorServer

        return SimulatorServer(self, host, port)

    # --- WSGI --------------------------------------------------------------------------
    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        response = self.handle(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            environ.get("HTTP_AUTHORIZATION"),
            body,
        )
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        reason = REASONS.get(response.status, "Unknown")
        start_response(f"{response.status} {reason}", headers)
        return [response.body]

    def handle(
        self, method: str, path: str, query: str, authorization: str | None, body: bytes
    ) -> Response:
        """Route one call. Order: auth, injected fault, rate limit, then the API itself."""
        if not path.startswith(PREFIX + "/"):
            return rest_error(404, 7000, "No route for that URI")
        route = path[len(PREFIX) :]
        if route.rstrip("/") == "/graphql":
            self.stats.add(graphql_requests=1)
            self._pause()
            return self._graphql_call(method, authorization, body)
        match = _REST_PATH.match(route)
        if match:
            self.stats.add(rest_calls=1)
            self._pause()
            return self._rest_call(method, authorization, match.group(1), match.group(2), query)
        return rest_error(404, 7000, "No route for that URI")

    def _pause(self) -> None:
        if self.config.latency_seconds:
            time.sleep(self.config.latency_seconds)

    def _authorized(self, authorization: str | None) -> bool:
        if not self.config.require_token:
            return True
        return authorization == f"Bearer {self.config.api_token}"

    def _fault(self, endpoint: str) -> Fault | None:
        fault = self.faults.take(endpoint)  # type: ignore[arg-type]
        if fault is not None:
            self.stats.add(faults=1)
        return fault

    def _graphql_call(self, method: str, authorization: str | None, body: bytes) -> Response:
        now = self.clock()
        if method != "POST":
            return graphql_errors(405, [graphql_error("method not allowed, use POST", now)])
        if not self._authorized(authorization):
            return graphql_errors(401, [graphql_error("Unauthorized", now)])
        fault = self._fault("graphql")
        if fault is not None and fault.kind != "truncated":
            return fault_response(fault, "graphql", now)
        response = self._graphql.handle(body)
        return truncate(response) if fault is not None else response

    def _rest_call(
        self, method: str, authorization: str | None, account: str, uid: str | None, query: str
    ) -> Response:
        if method != "GET":
            return rest_error(405, 7001, "Method not allowed")
        if not self._authorized(authorization):
            return rest_error(401, 10000, "Authentication error")
        fault = self._fault("rest")
        if fault is not None and fault.kind != "truncated":
            return fault_response(fault, "rest", self.clock())
        if self.rest_limiter is not None:
            wait = self.rest_limiter.check()
            if wait is not None:
                body = {"success": False, "errors": [{"code": 971, "message": REST_RATE_MESSAGE}]}
                return json_response(429, body, [("retry-after", str(wait))])
        if account != self.config.account_id:
            response = rest_error(403, 10000, "Authentication error")
        elif uid is None:
            response = self._rest.list(parse_qs(query, keep_blank_values=True))
        else:
            response = self._rest.video(uid)
        return truncate(response) if fault is not None else response
