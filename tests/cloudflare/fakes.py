"""Test doubles for the Cloudflare client's unit tests: a fake clock and a MockTransport handler
that answers GraphQL from a handful of raw records (grouping, filters, order, limit as
Cloudflare documents them), recording every document it was sent.

The simulator (`stream_stats_dagster.simulator`) is the full fake; this one is small enough
to state exact expectations in a test (one record at 14:59:59Z, 20,001 creators, ...)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from graphql import parse
from graphql.language import FieldNode, ListValueNode, ObjectValueNode, VariableNode

UTC = dt.UTC


class FakeClock:
    """`clock` and `sleep` for the client: sleeping only moves the clock."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Record:
    datetime: dt.datetime
    minutes: int
    count: int = 1
    uid: str = "u0"
    creator: str = "c0"
    clientCountryName: str = "KR"


def _z(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def _dimension(record: Record, name: str) -> str:
    t = record.datetime
    if name == "datetimeHour":
        return _z(t.replace(minute=0, second=0, microsecond=0))
    if name == "datetimeFifteenMinutes":
        return _z(t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0))
    if name == "datetime":
        return _z(t)
    return getattr(record, name)


def _value(node: Any, variables: dict[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables[node.name.value]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _value(f.value, variables) for f in node.fields}
    if isinstance(node, ListValueNode):
        return [_value(v, variables) for v in node.values]
    if node.kind == "int_value":
        return int(node.value)
    return node.value  # string / enum


@dataclass
class FakeCloudflare:
    """Answers `POST /graphql` from `records`; `on_request(n)` may return a Response to send
    instead (for faults). Every request is kept in `requests` (query, variables)."""

    records: list[Record] = field(default_factory=list)
    account_id: str = "acc"
    token: str = "tok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    request_times: list[tuple[float, int]] = field(default_factory=list)  # (clock, nodes)
    clock: Callable[[], float] | None = None
    on_request: Callable[[int, httpx.Request], httpx.Response | None] | None = None
    rest: Callable[[httpx.Request], httpx.Response] | None = None
    _cache: dict[Any, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/graphql"):
            assert self.rest is not None, f"unexpected request {request.url}"
            return self.rest(request)
        payload = json.loads(request.content)
        self.requests.append(payload)
        if self.on_request is not None:
            response = self.on_request(len(self.requests), request)
            if response is not None:
                return response
        assert request.headers["authorization"] == f"Bearer {self.token}"
        return httpx.Response(200, json=self.answer(payload["query"], payload["variables"]))

    def answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        operation = parse(query).definitions[0]
        viewer = operation.selection_set.selections[0]
        accounts = viewer.selection_set.selections[0]
        assert _value(accounts.arguments[0].value, variables) == {"accountTag": self.account_id}
        out: dict[str, Any] = {}
        nodes = [s for s in accounts.selection_set.selections if isinstance(s, FieldNode)]
        if self.clock is not None:
            self.request_times.append((self.clock(), len(nodes)))
        for node in nodes:
            assert node.name.value == "streamMinutesViewedAdaptiveGroups"
            args = {a.name.value: _value(a.value, variables) for a in node.arguments}
            dims = next(
                [f.name.value for f in s.selection_set.selections]
                for s in node.selection_set.selections
                if s.name.value == "dimensions"
            )
            out[node.alias.value if node.alias else node.name.value] = self._rows(args, dims)
        return {"data": {"viewer": {"accounts": [out]}}, "errors": None}

    def _rows(self, args: dict[str, Any], dims: list[str]) -> list[dict[str, Any]]:
        # Time bounds select records; `<dim>_gt` (keyset) filters the grouped rows.
        flt = args["filter"]
        time_filter = {k: v for k, v in flt.items() if k.startswith("datetime")}
        row_filter = _matcher({k: v for k, v in flt.items() if k not in time_filter})
        order = tuple(args.get("orderBy", []))
        key = (tuple(sorted(time_filter.items())), tuple(dims), order, len(self.records))
        if key not in self._cache:
            self._cache[key] = self._group(_matcher(time_filter), dims, order)
        rows = [row for row in self._cache[key] if row_filter(_Dims(row["dimensions"]))]
        return rows[: args["limit"]]

    def _group(self, match, dims: list[str], order: tuple[str, ...]) -> list[dict[str, Any]]:
        groups: dict[tuple[str, ...], list[int]] = {}
        for r in self.records:
            if not match(r):
                continue
            key = tuple(_dimension(r, d) for d in dims)
            g = groups.setdefault(key, [0, 0])
            g[0] += r.minutes
            g[1] += r.count
        rows = [
            {
                "count": c,
                "sum": {"minutesViewed": m},
                "dimensions": dict(zip(dims, key, strict=True)),
            }
            for key, (m, c) in groups.items()
        ]
        for spec in reversed(order):
            name, direction = spec.rsplit("_", 1)
            if name == "sum_minutesViewed":
                sort_key: Callable[[dict[str, Any]], Any] = lambda row: row["sum"]["minutesViewed"]  # noqa: E731
            elif name == "count":
                sort_key = lambda row: row["count"]  # noqa: E731
            else:
                sort_key = lambda row, name=name: row["dimensions"][name]  # noqa: E731
            rows.sort(key=sort_key, reverse=direction == "DESC")
        return rows


class _Dims:
    """A grouped row's dimensions, readable like a Record by `_matcher`."""

    def __init__(self, dims: dict[str, str]) -> None:
        self.__dict__.update(dims)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "": lambda a, b: a == b,
    "geq": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "leq": lambda a, b: a <= b,
}


def _matcher(flt: dict[str, Any]) -> Callable[[Any], bool]:
    """The filter as a predicate (values parsed once, not per record)."""
    tests = []
    for key, want in flt.items():
        name, _, op = key.partition("_")
        tests.append((name, _OPS[op], _time(want) if name == "datetime" else want))
    return lambda r: all(op(getattr(r, name), want) for name, op, want in tests)


def graphql_error(message: str, status: int = 200, **headers: str) -> httpx.Response:
    body = {"data": None, "errors": [{"message": message, "path": None, "extensions": {}}]}
    return httpx.Response(status, json=body, headers=headers)


def rows(frame: Any) -> list[Any]:
    """A facts frame's rows as objects with attribute access (`row.minutesViewed`), with plain
    Python values, so that assertions read like the rows they check."""
    from types import SimpleNamespace

    return [SimpleNamespace(**record) for record in frame.to_dict("records")]
