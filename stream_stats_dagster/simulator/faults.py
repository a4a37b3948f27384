"""Injected failures: a queue of faults that the next matching API calls answer with.

Tests of the client's retry logic push faults here instead of waiting for Cloudflare to misbehave.
Each kind mirrors something Cloudflare really does (notes/cloudflare-api.md §5, §6).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, get_args

from .responses import Response, graphql_error, graphql_errors, json_response, rest_error

FaultKind = Literal["rate_limited", "unavailable", "budget_depleted", "truncated", "server_error"]
Endpoint = Literal["graphql", "rest", "any"]
_ALIASES = {
    "429": "rate_limited",
    "503": "unavailable",
    "500": "server_error",
    "budget": "budget_depleted",
}
BUDGET_MESSAGE = "rate limiter budget depleted, try again after 5 minutes"
REST_RATE_MESSAGE = "Please wait and consider throttling your request speed"


@dataclass
class Fault:
    """What the next `times` matching calls get instead of (or on top of) the real answer.

    - rate_limited: HTTP 429 with `retry-after: <retry_after>`
    - unavailable: HTTP 503 "unable to execute query, please try again later"
    - budget_depleted: HTTP 200 whose body holds the "budget depleted" error
    - truncated: the real status and headers, but the JSON body cut in half
    - server_error: HTTP 500 "Internal server error"
    """

    kind: FaultKind
    endpoint: Endpoint = "any"
    times: int = 1
    retry_after: int = 5

    def __post_init__(self) -> None:
        self.kind = _ALIASES.get(self.kind, self.kind)  # type: ignore[assignment]
        if self.kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.endpoint not in ("graphql", "rest", "any"):
            raise ValueError(f"unknown endpoint {self.endpoint!r}")
        if self.times < 1:
            raise ValueError("times must be >= 1")


class FaultQueue:
    """First in, first out; a fault applies to the first calls on its endpoint."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def push(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, endpoint: Literal["graphql", "rest"]) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.endpoint in (endpoint, "any"):
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._faults[i]
                    return fault
        return None


@dataclass(frozen=True)
class StaleSample:
    """Nodes grouped by `dimension` alone (every node, when None) answer from a stale sample
    for records in [start, end) (epoch seconds): one record in `one_in` there is missing.

    - one in ten, for one dimension: its groups add up to less than the other nodes of the
      same query (the hourly totals). Cloudflare samples each node on its own; a node served
      from an older sample is how a day's creators can disagree with its total.
    - every record, for every node: an HTTP 200 answer with empty results for a day that
      has views (what an outage behind the API can look like).

    Stays on until `Simulator.clear_faults()`."""

    dimension: str | None
    start: float
    end: float
    one_in: int = 10

    def applies(self, dimensions: list[str], lo: float, hi: float) -> bool:
        overlaps = lo < self.end and self.start < hi
        return overlaps and (self.dimension is None or dimensions == [self.dimension])


def fault_response(fault: Fault, endpoint: Literal["graphql", "rest"], now: float) -> Response:
    """The answer for every kind except `truncated` (which needs the real answer first)."""
    if fault.kind == "rate_limited":
        headers = [("retry-after", str(fault.retry_after))]
        if endpoint == "graphql":
            return graphql_errors(429, [graphql_error(BUDGET_MESSAGE, now, code="budget")], headers)
        return json_response(
            429,
            {"success": False, "errors": [{"code": 971, "message": REST_RATE_MESSAGE}]},
            headers,
        )
    if fault.kind == "unavailable":
        message = "unable to execute query, please try again later"
        if endpoint == "graphql":
            return graphql_errors(503, [graphql_error(message, now)])
        return rest_error(503, 10001, "Service unavailable, please try again later")
    if fault.kind == "budget_depleted":
        if endpoint == "graphql":
            return graphql_errors(200, [graphql_error(BUDGET_MESSAGE, now, code="budget")])
        return json_response(
            200, {"success": False, "errors": [{"code": 971, "message": REST_RATE_MESSAGE}]}
        )
    if fault.kind == "server_error":
        if endpoint == "graphql":
            return graphql_errors(500, [graphql_error("Internal server error", now)])
        return rest_error(500, 10002, "Internal server error")
    raise AssertionError(fault.kind)


def truncate(response: Response) -> Response:
    """Keep status and headers, cut the body in half (a connection that died mid-body)."""
    return Response(response.status, response.body[: len(response.body) // 2], response.headers)
