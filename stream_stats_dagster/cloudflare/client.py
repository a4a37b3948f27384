"""`CloudflareClient`: the one place that talks to Cloudflare (GraphQL Analytics + Stream REST).

It turns report days into `DayFacts` with as few HTTP requests as Cloudflare allows, keeps
itself under Cloudflare's rate limits (`pacing`), retries what is transient with backoff that
honours `retry-after`, and fails at once, in one line, on what is not. The transport is
pluggable (httpx), so the same code runs against api.cloudflare.com, the simulator over
loopback HTTP, or the simulator in-process.

The API token lives only in the httpx client's default headers. Every message this module
builds goes through `scrub`, so neither exceptions, logs nor the repr can show it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import json
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from ..dates import UTC, ReportDay, local_hour_label, to_utc_z
from ..facts import DayFacts, VideoMetadata, fact_frame
from ..progress import announce_wait, watchdog
from . import queries
from .errors import (
    CloudflareAuthError,
    CloudflareError,
    CloudflareQueryError,
    CloudflareResponseError,
    CloudflareUnavailableError,
    one_line,
    scrub,
)
from .pacing import Pacer, check_wait

T = TypeVar("T")

# Error texts (any HTTP status, including 200) and what they mean; lower-case substrings.
_AUTH_TEXT = (
    "not authorized",
    "unauthorized",
    "does not have access",
    "authentication error",
    "invalid api token",
    "forbidden",
)
_TRANSIENT_TEXT = (
    "budget depleted",
    "rate limit",  # "rate limiter budget depleted", "has exceeded its rate limit"
    "try again later",
    "try again after",
    "too many queries in progress",
    "unable to execute query",
    "quota exceeded",
    "too many requests",
    "consider throttling",
)
_TOO_BIG_TEXT = ("too many nodes", "excessive resources")
_ROUTE_TEXT = ("could not route", "no route for")  # a 404 that is about the URL, not the video
_WAIT_IN_TEXT = re.compile(r"after (\d+) ?(second|sec|s|minute|min)", re.IGNORECASE)


@dataclass(frozen=True)
class ClientLimits:
    """Budgets, retries and waits. Defaults stay under Cloudflare's limits with a margin
    (300 nodes / 1200 calls per 5 minutes) and wait out at most one full window."""

    nodes_per_window: int = 280
    calls_per_window: int = 1100
    window_seconds: float = 300.0
    max_nodes_per_request: int = 12
    # rows per creator/country page: Cloudflare's maximum, lower if an account's maxPageSize is
    page_size: int = queries.MAX_PAGE_SIZE
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    max_wait_seconds: float = 330.0  # any single wait (pacing or retry-after)
    deadline_seconds: float = 3600.0  # all waits of one public call together
    timeout_seconds: float = 30.0  # one attempt, from its start to the body's last byte
    max_pages: int = 100  # keyset pages of one day's list (1M rows at 10,000 a page)
    max_list_pages: int = 1000  # Stream list pages (1M videos at 1,000 a page)
    max_body_bytes: int = 256 * 2**20  # one answer; a body that never ends is cut here
    announce_after_seconds: float = 10.0  # longer waits (and unanswered requests) are announced
    malformed_body_retries: int = 2  # bodies that are not JSON (truncated) retried this often

    def __post_init__(self) -> None:
        if not 1 <= self.max_nodes_per_request <= self.nodes_per_window:
            raise ValueError("max_nodes_per_request must be in 1..nodes_per_window")
        if not 1 <= self.page_size <= queries.MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be in 1..{queries.MAX_PAGE_SIZE}")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


@dataclass
class ClientStats:
    """What the client spent. Every HTTP attempt counts, retries included (Cloudflare counts
    them too)."""

    graphql_requests: int = 0
    nodes: int = 0
    rest_calls: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {
                f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")
            }


class _Retry(Exception):
    """Internal: this attempt failed transiently."""

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        malformed: bool = False,
        hold: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.malformed = malformed
        self.unreachable = unreachable  # no HTTP answer at all (refused, timed out)
        self.hold = hold  # Cloudflare blocked us: stop every sender for the wait, not just this one


class _Cancelled(Exception):
    """Internal: another worker of the same call failed first."""


@dataclass
class _Work:
    """One node to fetch for one report day (a first page or a keyset follow-up)."""

    day: _DayState
    kind: str  # creators | countries | videos | series
    node: queries.Node
    page: int = 1


@dataclass
class _DayState:
    report: ReportDay
    index: int
    # name -> (minutes, count) of every creator / country; the top videos' rows in order
    creators: dict[str, tuple[int, int]] = field(default_factory=dict)
    countries: dict[str, tuple[int, int]] = field(default_factory=dict)
    videos: list[tuple[str, str, int, int]] = field(default_factory=list)
    hours: list[list[int]] = field(default_factory=list)  # [minutes, count] per local hour

    def facts(self) -> DayFacts:
        """The day's rows as frames; creators and countries sorted by name (file order)."""
        labels = [local_hour_label(h) for h in self.report.local_hours()]
        return DayFacts(
            date=self.report.key,
            creators=_keyed_frame("creators", "creator", self.creators),
            countries=_keyed_frame("countries", "clientCountryName", self.countries),
            videos=fact_frame(
                "videos",
                {
                    "uid": [v[0] for v in self.videos],
                    "creator": [v[1] for v in self.videos],
                    "minutesViewed": [v[2] for v in self.videos],
                    "viewCount": [v[3] for v in self.videos],
                },
            ),
            hours=fact_frame(
                "hours",
                {
                    "hour": labels,
                    "minutesViewed": [m for m, _ in self.hours],
                    "viewCount": [c for _, c in self.hours],
                },
            ),
        )


def _keyed_frame(kind: str, key: str, totals: dict[str, tuple[int, int]]) -> Any:
    names = sorted(totals)
    return fact_frame(
        kind,
        {
            key: names,
            "minutesViewed": [totals[n][0] for n in names],
            "viewCount": [totals[n][1] for n in names],
        },
    )


class CloudflareClient:
    """Cloudflare Stream analytics and video metadata for one account.

    Use as a context manager (or call `close`). Counters are on `stats`."""

    def __init__(
        self,
        base_url: str,
        account_id: str,
        api_token: str,
        *,
        timezone: str = "Asia/Seoul",
        transport: httpx.BaseTransport | None = None,
        limits: ClientLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
        logger: Any = None,
        pacer: Pacer | None = None,
    ) -> None:
        if not account_id:
            raise ValueError("CloudflareClient needs an account id")
        if not api_token:
            raise ValueError("CloudflareClient needs an API token")
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.timezone = timezone
        self.limits = limits or ClientLimits()
        self.stats = ClientStats()
        self.log = _ScrubbedLog(logger or logging.getLogger(__name__), api_token)
        self._token = api_token
        self._clock = clock
        self._sleep = sleep
        self._random = random.Random()
        if pacer is not None:
            pacer.logger = self.log  # a shared pacer logs to the newest client's logger
        self.pacer = pacer or Pacer(
            nodes_per_window=self.limits.nodes_per_window,
            calls_per_window=self.limits.calls_per_window,
            window_seconds=self.limits.window_seconds,
            max_wait_seconds=self.limits.max_wait_seconds,
            clock=clock,
            sleep=sleep,
            logger=self.log,
            announce_after_seconds=self.limits.announce_after_seconds,
        )
        self._graphql_url = f"{self.base_url}/graphql"
        self._stream_url = f"{self.base_url}/accounts/{quote(account_id, safe='')}/stream"
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(self.limits.timeout_seconds),
            headers={"Authorization": f"Bearer {api_token}", "User-Agent": "stream-stats-dagster"},
        )

    def __repr__(self) -> str:
        return (
            f"CloudflareClient(base_url={self.base_url!r}, account_id={self.account_id!r}, "
            f"api_token='[redacted]', timezone={self.timezone!r})"
        )

    def __enter__(self) -> CloudflareClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ GraphQL: report days

    def fetch_days(self, days: Sequence[dt.date], *, top_videos: int) -> dict[str, DayFacts]:
        """Complete creator and country lists, the top videos and the local-hour series of
        each report day, keyed by `YYYY-MM-DD`. Days share requests (`max_nodes_per_request`);
        full creator/country pages are followed by keyset pages until a page is short."""
        if not 1 <= top_videos <= queries.MAX_PAGE_SIZE:
            raise ValueError(f"top_videos must be in 1..{queries.MAX_PAGE_SIZE}, not {top_videos}")
        states = [
            _DayState(ReportDay(day, self.timezone), i) for i, day in enumerate(dict.fromkeys(days))
        ]
        queue: deque[_Work] = deque()
        for state in states:
            r = state.report
            start, end = to_utc_z(r.start_utc), to_utc_z(r.end_utc)
            state.hours = [[0, 0] for _ in r.local_hours()]
            bucket = "datetimeHour" if r.whole_hour_offsets() else "datetimeFifteenMinutes"
            d, size = f"d{state.index}", self.limits.page_size
            queue.extend(
                [
                    _Work(
                        state,
                        "creators",
                        queries.keyset_node(f"{d}_creators", "creator", start, end, limit=size),
                    ),
                    _Work(
                        state,
                        "countries",
                        queries.keyset_node(
                            f"{d}_countries", "clientCountryName", start, end, limit=size
                        ),
                    ),
                    _Work(
                        state,
                        "videos",
                        queries.top_videos_node(f"{d}_videos", start, end, top_videos),
                    ),
                    _Work(state, "series", queries.series_node(f"{d}_hours", bucket, start, end)),
                ]
            )
        requests = self._drain(
            queue,
            node_of=lambda work: work.node,
            describe=_describe_days,
            absorb=self._absorb,
        )
        self.log.info(
            f"Cloudflare: fetched {len(states)} report day(s) in {requests} GraphQL request(s)"
        )
        return {s.report.key: s.facts() for s in states}

    def fetch_hourly(
        self, start_utc: dt.datetime, end_utc: dt.datetime, *, quarter_hours: bool = False
    ) -> list[tuple[dt.datetime, int, int]]:
        """(UTC bucket start, minutes, count) of every hour with views in [start, end),
        ascending, in one node: what a late-data sensor compares against the stored facts.
        Buckets without views are absent (Cloudflare omits empty groups). `quarter_hours`
        asks for 15-minute buckets, for report time zones whose days do not start on a UTC
        hour (e.g. +05:30)."""
        if start_utc.tzinfo is None or end_utc.tzinfo is None:
            raise ValueError("fetch_hourly needs time-zone-aware datetimes")
        if not start_utc < end_utc:
            raise ValueError("fetch_hourly needs start < end")
        dimension, per_hour = ("datetimeHour", 1)
        if quarter_hours:
            dimension, per_hour = ("datetimeFifteenMinutes", 4)
        if (end_utc - start_utc) * per_hour > dt.timedelta(hours=queries.SERIES_LIMIT):
            raise ValueError(f"fetch_hourly covers at most {queries.SERIES_LIMIT} buckets")
        node = queries.series_node("hours", dimension, to_utc_z(start_utc), to_utc_z(end_utc))
        deadline = self._clock() + self.limits.deadline_seconds
        what = f"hourly series {node.start}..{node.end}"
        rows = self._rows(self._graphql([node], what, deadline)["hours"], node, what)
        if len(rows) >= node.limit:
            raise CloudflareResponseError(f"{what}: {len(rows)} rows, more than one page of hours")
        totals: dict[dt.datetime, list[int]] = {}
        for dims, count, minutes in rows:
            hour = _parse_time(dims[dimension], what)
            total = totals.setdefault(hour, [0, 0])
            total[0] += minutes
            total[1] += count
        return [(hour, m, c) for hour, (m, c) in sorted(totals.items())]

    def fetch_uid_minutes(self, days: Sequence[dt.date]) -> dict[str, dict[str, list]]:
        """Minutes and views of every video with views on each report day, keyed by
        `YYYY-MM-DD`, as columns `uid`, `minutesViewed`, `viewCount` ascending by uid.
        Complete: each day is keyset-paged by uid until a page is short (~50k videos a day
        at the seed's scale: 5-6 nodes). Pages of several days share requests."""
        keys: list[str] = []
        out: dict[str, dict[str, list]] = {}
        queue: deque[tuple[int, int, queries.Node]] = deque()
        for i, day in enumerate(dict.fromkeys(days)):
            r = ReportDay(day, self.timezone)
            keys.append(r.key)
            out[r.key] = {"uid": [], "minutesViewed": [], "viewCount": []}
            start, end = to_utc_z(r.start_utc), to_utc_z(r.end_utc)
            node = queries.uid_minutes_node(f"u{i}_p1", start, end, limit=self.limits.page_size)
            queue.append((i, 1, node))

        def describe(batch: list[tuple[int, int, queries.Node]]) -> str:
            span = sorted({keys[i] for i, _, _ in batch})
            return f"per-video minutes of {span[0]}" + (f"..{span[-1]}" if len(span) > 1 else "")

        def absorb(item: tuple[int, int, queries.Node], value: Any):
            i, page, node = item
            rows = self._rows(value, node, f"{node.alias} ({keys[i]})")
            columns = out[keys[i]]
            if rows and columns["uid"] and rows[0][0]["uid"] <= columns["uid"][-1]:
                raise CloudflareResponseError(
                    f"{node.alias} ({keys[i]}): uid {rows[0][0]['uid']!r} after "
                    f"{columns['uid'][-1]!r}: rows are not in uid order"
                )
            for dims, count, minutes in rows:
                columns["uid"].append(dims["uid"])
                columns["minutesViewed"].append(minutes)
                columns["viewCount"].append(count)
            if len(rows) < node.limit:
                return None
            self._check_pages(f"{node.alias} ({keys[i]})", page, node.limit)
            after = rows[-1][0]["uid"]
            alias = f"u{i}_p{page + 1}"
            return (
                i,
                page + 1,
                queries.uid_minutes_node(alias, node.start, node.end, after, limit=node.limit),
            )

        requests = self._drain(
            queue, node_of=lambda item: item[2], describe=describe, absorb=absorb
        )
        self.log.info(
            f"Cloudflare: per-video minutes of {len(keys)} report day(s) in {requests} "
            f"GraphQL request(s)"
        )
        return out

    def _check_pages(self, what: str, page: int, limit: int) -> None:
        """A keyset list that is still full after `max_pages` pages does not end: fail in
        one line rather than grow without bound."""
        if page >= self.limits.max_pages:
            raise CloudflareResponseError(
                f"{what}: still full after {page} pages of {limit:,} rows: the list does not "
                f"end (ClientLimits.max_pages is {self.limits.max_pages})"
            )

    def _drain(
        self,
        queue: deque[T],
        *,
        node_of: Callable[[T], queries.Node],
        describe: Callable[[list[T]], str],
        absorb: Callable[[T, Any], T | None],
    ) -> int:
        """Send the queued nodes in as few requests as Cloudflare accepts (at most
        `max_nodes_per_request` each, halved whenever Cloudflare refuses a request as too
        many nodes); `absorb` takes each node's rows and may queue a follow-up page.
        Returns the number of requests made."""
        deadline = self._clock() + self.limits.deadline_seconds
        cap = self.limits.max_nodes_per_request
        requests = 0
        while queue:
            batch = [queue.popleft() for _ in range(min(cap, len(queue)))]
            try:
                results = self._graphql([node_of(x) for x in batch], describe(batch), deadline)
            except CloudflareQueryError as e:
                if not (e.splittable and len(batch) > 1):
                    raise
                cap = max(1, len(batch) // 2)
                self.log.warning(
                    f"Cloudflare refused {len(batch)} nodes in one request ({e.message}); "
                    f"retrying with at most {cap} nodes per request"
                )
                queue.extendleft(reversed(batch))
                continue
            requests += 1
            for item in batch:
                follow_up = absorb(item, results[node_of(item).alias])
                if follow_up is not None:
                    queue.append(follow_up)
        return requests

    def _absorb(self, work: _Work, value: Any) -> _Work | None:
        """Store one node's rows in its day; return the next keyset page if this one was full."""
        state, node = work.day, work.node
        what = f"{node.alias} ({state.report.key})"
        rows = self._rows(value, node, what)
        if work.kind in ("creators", "countries"):
            key = node.dimensions[0]
            target = state.creators if work.kind == "creators" else state.countries
            for dims, count, minutes in rows:
                name = dims[key]
                if name in target:
                    raise CloudflareResponseError(f"{what}: {key} {name!r} returned twice")
                target[name] = (minutes, count)
            if len(rows) < node.limit:
                return None
            self._check_pages(what, work.page, node.limit)
            last = rows[-1][0][key]
            d = f"d{state.index}_{work.kind}_p{work.page + 1}"
            return _Work(
                state,
                work.kind,
                queries.keyset_node(d, key, node.start, node.end, after=last, limit=node.limit),
                work.page + 1,
            )
        if work.kind == "videos":
            state.videos = [(dims["uid"], dims["creator"], m, c) for dims, c, m in rows]
            return None
        # series: UTC buckets (hours or quarter hours) folded into the day's local hours
        if len(rows) >= node.limit:
            raise CloudflareResponseError(
                f"{what}: {len(rows)} rows, more than one page of buckets"
            )
        start = state.report.start_utc
        for dims, count, minutes in rows:
            t = _parse_time(dims[node.dimensions[0]], what)
            index = int((t - start).total_seconds() // 3600)
            if not 0 <= index < len(state.hours):
                raise CloudflareResponseError(f"{what}: bucket {t.isoformat()} is outside the day")
            state.hours[index][0] += minutes
            state.hours[index][1] += count
        return None

    def _rows(
        self, value: Any, node: queries.Node, what: str
    ) -> list[tuple[dict[str, str], int, int]]:
        """(dimensions, count, minutes) of each row, checked: anything else is a ResponseError."""
        if not isinstance(value, list):
            raise CloudflareResponseError(
                f"{what}: expected a list of rows, got {type(value).__name__}"
            )
        out = []
        for row in value:
            try:
                dims = row["dimensions"]
                values = {d: dims[d] for d in node.dimensions}
                if not all(isinstance(v, str) for v in values.values()):
                    raise TypeError
                out.append((values, _uint(row["count"]), _uint(row["sum"]["minutesViewed"])))
            except (KeyError, TypeError, ValueError):
                raise CloudflareResponseError(
                    f"{what}: unexpected row shape {one_line(json.dumps(row, default=str), 160)}"
                ) from None
        if len(out) > node.limit:
            raise CloudflareResponseError(f"{what}: {len(out)} rows for limit {node.limit}")
        return out

    def _graphql(self, nodes: list[queries.Node], what: str, deadline: float) -> dict[str, Any]:
        """Send one document; return the account scope's fields by alias."""
        document, variables = queries.build_query(nodes)
        payload = {"query": document, "variables": {"accountTag": self.account_id, **variables}}
        what = f"Cloudflare GraphQL request for {what} ({len(nodes)} node{'s' * (len(nodes) != 1)})"

        def send() -> httpx.Response:
            self.stats.add(graphql_requests=1, nodes=len(nodes))
            return self._send("POST", self._graphql_url, json=payload)

        def interpret(response: httpx.Response) -> dict[str, Any]:
            body = self._check(response, what, graphql=True)
            try:
                accounts = body["data"]["viewer"]["accounts"]
                if not isinstance(accounts, list):
                    raise TypeError
            except (KeyError, TypeError):
                raise CloudflareResponseError(
                    f"{what}: no data.viewer.accounts in the response"
                ) from None
            if len(accounts) != 1 or not isinstance(accounts[0], dict):
                raise CloudflareResponseError(
                    f"{what}: expected account {self.account_id} in the response, "
                    f"got {len(accounts)} accounts"
                )
            missing = [n.alias for n in nodes if n.alias not in accounts[0]]
            if missing:
                raise CloudflareResponseError(f"{what}: the response lacks {', '.join(missing)}")
            return accounts[0]

        return self._attempts(
            what,
            send,
            interpret,
            lambda: self.pacer.graphql(len(nodes), deadline=deadline),
            deadline,
            graphql=True,
        )

    # ------------------------------------------------------------------ REST: video metadata

    def get_videos(self, uids: Sequence[str], *, concurrency: int = 8) -> dict[str, VideoMetadata]:
        """Metadata of each video, one REST call per uid, `concurrency` at a time. A 404 is a
        deleted video (`found=False`); any other failure (after retries) fails the whole call."""
        unique = list(dict.fromkeys(uids))
        if not unique:
            return {}
        deadline = self._clock() + self.limits.deadline_seconds
        stop = threading.Event()  # set on the first failure: the other workers give up too
        results: dict[str, VideoMetadata] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(unique)))) as pool:
            futures = {pool.submit(self._get_video, uid, deadline, stop): uid for uid in unique}
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            errors = [f.exception() for f in done if f.exception() is not None]
            if errors:
                stop.set()
                for future in pending:
                    future.cancel()
                raise next((e for e in errors if not isinstance(e, _Cancelled)), errors[0])
            results = {futures[f]: f.result() for f in done}
        missing = sum(not v.found for v in results.values())
        self.log.info(f"Cloudflare: metadata of {len(unique)} video(s), {missing} not found (404)")
        return {uid: results[uid] for uid in unique}

    def _get_video(self, uid: str, deadline: float, stop: threading.Event) -> VideoMetadata:
        url = f"{self._stream_url}/{quote(uid, safe='')}"
        what = f"Cloudflare Stream video {uid}"

        def interpret(response: httpx.Response) -> VideoMetadata:
            body = self._check(response, what, graphql=False, not_found_ok=True)
            if body is None:
                return VideoMetadata(uid=uid, found=False)
            result = body.get("result")
            if not isinstance(result, dict):
                raise CloudflareResponseError(f"{what}: no result object in the response")
            return _video(result, what, uid=uid)

        def pace() -> float:
            if stop.is_set():
                raise _Cancelled(what)
            return self.pacer.rest(deadline=deadline)

        return self._attempts(what, lambda: self._rest_send(url, None), interpret, pace, deadline)

    def count_videos(self) -> int | None:
        """How many videos the account holds now (the list endpoint's `total`, one call), or
        None if the answer does not say."""
        deadline = self._clock() + self.limits.deadline_seconds
        what = "Cloudflare Stream video count"

        def interpret(response: httpx.Response) -> Any:
            return self._check(response, what, graphql=False).get("total")

        total = self._attempts(
            what,
            lambda: self._rest_send(self._stream_url, {"limit": "1"}),
            interpret,
            lambda: self.pacer.rest(deadline=deadline),
            deadline,
        )
        return _int_or_none(total)

    def list_videos(
        self, *, created_after: str | None = None, limit: int = 1000
    ) -> Iterator[list[VideoMetadata]]:
        """The catalogue in creation order, one page (up to `limit`, max 1000) at a time.

        Cloudflare has no cursor: the next page starts at the last item's `created`, one
        second early so that videos created in the same instant are not skipped whether
        `start` is inclusive or not; already seen uids are dropped. A short page ends it."""
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be in 1..1000")
        deadline = self._clock() + self.limits.deadline_seconds
        start, seen, page = created_after, set[str](), 0
        while True:
            page += 1
            params = {"asc": "true", "limit": str(limit)}
            if start:
                params["start"] = start
            what = f"Cloudflare Stream video list page {page}" + (
                f" (start {start})" if start else ""
            )

            def interpret(
                response: httpx.Response, what: str = what
            ) -> tuple[list[VideoMetadata], Any]:
                body = self._check(response, what, graphql=False)
                result = body.get("result")
                if not isinstance(result, list):
                    raise CloudflareResponseError(f"{what}: result is not a list")
                return [_video(item, what) for item in result], body.get("total")

            items, total = self._attempts(
                what,
                lambda params=params: self._rest_send(self._stream_url, params),
                interpret,
                lambda: self.pacer.rest(deadline=deadline),
                deadline,
            )
            new = [v for v in items if v.uid not in seen]
            seen.update(v.uid for v in new)
            self.log.debug(
                f"{what}: {len(items)} videos, {len(new)} new, total {_int_or_none(total)}"
            )
            if new:
                yield new
            if len(items) < limit:
                return
            if page >= self.limits.max_list_pages:
                raise CloudflareResponseError(
                    f"{what}: still full after {page} pages ({len(seen):,} videos): the list "
                    f"does not end (ClientLimits.max_list_pages is {self.limits.max_list_pages})"
                )
            if not new:
                raise CloudflareResponseError(
                    f"{what}: a full page without new videos; "
                    f"more than {limit} videos share one created second"
                )
            last = items[-1].created
            try:
                start = to_utc_z(_parse_time(last, what) - dt.timedelta(seconds=1))
            except (CloudflareResponseError, TypeError):
                raise CloudflareResponseError(
                    f"{what}: last item has no usable created time ({last!r})"
                ) from None

    def _rest_send(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        self.stats.add(rest_calls=1)
        return self._send("GET", url, params=params)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP attempt with a total deadline, counted from its start.

        httpx's timeouts are per network operation: a server that sends one byte every few
        seconds resets them for ever. So the body is read in chunks against the attempt's
        deadline (`timeout_seconds`) and cut at `max_body_bytes`; a late or endless answer is
        an `httpx.ReadTimeout` like a silent one, retried and then failed the same way."""
        limits = self.limits
        started = time.monotonic()
        with self._http.stream(method, url, **kwargs) as response:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > limits.max_body_bytes:
                    raise httpx.ReadTimeout(
                        f"the answer exceeded {limits.max_body_bytes:,} bytes",
                        request=response.request,
                    )
                if time.monotonic() - started > limits.timeout_seconds:
                    raise httpx.ReadTimeout(
                        f"the answer was not complete after {limits.timeout_seconds:g} s "
                        f"({size:,} bytes so far)",
                        request=response.request,
                    )
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=b"".join(chunks),
            request=response.request,
        )

    # ------------------------------------------------------------------ shared: checks, retries

    def _check(
        self, response: httpx.Response, what: str, *, graphql: bool, not_found_ok: bool = False
    ) -> Any:
        """Classify one response: return its JSON body, or raise a CloudflareError (fatal) or
        _Retry (transient). `None` means a genuine 404 when `not_found_ok`."""
        status = response.status_code
        try:
            body, parsed = response.json(), True
        except (json.JSONDecodeError, UnicodeDecodeError):
            body, parsed = None, False
        # A JSON response cut short (connection died mid-body): retried a couple of times.
        truncated = not parsed and (
            "json" in response.headers.get("content-type", "")
            or response.content.lstrip()[:1] in (b"{", b"[")
        )
        messages = _error_messages(body)
        detail = "; ".join(messages) if messages else _snippet(response)
        lower = " ".join(messages).lower()
        cause = f"{what}: HTTP {status}: {detail}"

        if status in (401, 403) or any(t in lower for t in _AUTH_TEXT):
            permission = "Account Analytics: Read" if graphql else "Stream: Read"
            raise CloudflareAuthError(
                f"{what}: Cloudflare refused the API token (HTTP {status}: {detail}); "
                f"check the token and its permissions ({permission}) for account {self.account_id}"
            )
        if any(t in lower for t in _TOO_BIG_TEXT):
            raise CloudflareQueryError(cause, splittable=True)
        transient_text = any(t in lower for t in _TRANSIENT_TEXT)
        if status == 429 or status >= 500 or transient_text:
            retry_after = _retry_after(response.headers.get("retry-after"))
            if retry_after is None and transient_text:
                retry_after = _wait_in_text(lower)
            blocked = status == 429 or "budget" in lower or "rate limit" in lower
            raise _Retry(f"HTTP {status}: {detail}", retry_after=retry_after, hold=blocked)
        if truncated or (status == 200 and not parsed):
            raise _Retry(
                f"HTTP {status} with a body that is not JSON (truncated?): {_snippet(response)}",
                malformed=True,
            )
        if status == 404 and not_found_ok:
            if parsed and isinstance(body, dict) and not any(t in lower for t in _ROUTE_TEXT):
                return None
            raise CloudflareQueryError(
                f"{cause} (not a Cloudflare 'video not found': check api_base_url and account id)"
            )
        if status != 200:
            raise CloudflareQueryError(
                f"{cause}" + ("" if messages else f" (request to {response.url})")
            )
        if not isinstance(body, dict):
            raise CloudflareResponseError(
                f"{what}: expected a JSON object, got {type(body).__name__}"
            )
        if messages:
            raise CloudflareQueryError(f"{what}: Cloudflare rejected it: {detail}")
        if not graphql and body.get("success") is False:
            raise CloudflareResponseError(f"{what}: success=false without an error message")
        return body

    def _attempts(
        self,
        what: str,
        send: Callable[[], httpx.Response],
        interpret: Callable[[httpx.Response], T],
        pace: Callable[[], float],
        deadline: float,
        *,
        graphql: bool = False,
    ) -> T:
        """Pace, send, interpret; retry transient failures with backoff honouring retry-after.

        Messages count the attempts of this call. A wait longer than `announce_after_seconds`
        is announced before it starts (`progress.announce_wait`), and so is a request still
        unanswered after that long. A server that never answers at all (refused, timed out on
        every attempt) fails as not transient: this call already retried it, and a Dagster step
        retry would only repeat the silence."""
        limits = self.limits
        attempt = malformed = unreachable = 0
        started = self._clock()
        try:
            while True:
                attempt += 1
                self.stats.add(waited_seconds=pace())
                try:
                    with self._watch(what, attempt):
                        response = send()
                    return interpret(response)
                except _Retry as r:
                    retry = r
                except httpx.TimeoutException as e:
                    detail = str(e) or type(e).__name__
                    retry = _Retry(
                        f"no complete answer within {limits.timeout_seconds:g} s ({detail})",
                        unreachable=True,
                    )
                except httpx.ConnectError as e:
                    retry = _Retry(f"cannot connect ({e})", unreachable=True)
                except (httpx.NetworkError, httpx.RemoteProtocolError) as e:
                    retry = _Retry(f"connection error ({type(e).__name__}: {e})")
                except httpx.RequestError as e:
                    raise CloudflareResponseError(
                        f"{what}: request failed: {type(e).__name__}: {e}"
                    ) from None
                malformed += retry.malformed
                unreachable += retry.unreachable
                if retry.malformed and malformed > limits.malformed_body_retries:
                    raise CloudflareResponseError(
                        f"{what}: {malformed} of {attempt} attempts got a body that is not "
                        f"JSON; last: {retry.reason}",
                        transient=True,
                    )
                if attempt >= limits.max_attempts:
                    spent = self._clock() - started
                    if unreachable == attempt:
                        raise CloudflareUnavailableError(
                            f"{what}: {self.base_url} did not answer any of {attempt} attempts "
                            f"in {spent:.0f} s; last: {retry.reason}; check "
                            "CLOUDFLARE_API_BASE_URL and the network",
                            transient=False,
                        )
                    raise CloudflareUnavailableError(
                        f"{what}: still failing after {attempt} attempts in {spent:.0f} s at "
                        f"{self.base_url}; last error: {retry.reason}"
                    )
                backoff = min(
                    limits.backoff_max_seconds, limits.backoff_base_seconds * 2 ** (attempt - 1)
                )
                delay = backoff * (0.5 + 0.5 * self._random.random())
                if retry.retry_after is not None:
                    delay = max(delay, retry.retry_after)
                check_wait(
                    delay,
                    limits.max_wait_seconds,
                    deadline,
                    self._clock(),
                    f"{what} (retrying {retry.reason})",
                )
                if retry.hold:
                    self.pacer.hold(delay, graphql=graphql)
                why = (
                    f"retry {attempt}/{limits.max_attempts - 1} after attempt {attempt} "
                    f"of {limits.max_attempts} got {retry.reason}"
                )
                if delay > limits.announce_after_seconds:
                    self._announce(what, delay, why)
                else:
                    self.log.warning(f"{what}: {why}; waiting {delay:.1f} s")
                self._sleep(delay)
                self.stats.add(retries=1, waited_seconds=delay)
        except CloudflareError as e:
            clean = scrub(e.message, self._token)
            if clean != e.message:
                e.args = (clean,)
            raise

    def _announce(self, what: str, seconds: float, why: str) -> None:
        """A wait line on the waits logger and in the run's log, without the token."""
        line = announce_wait(what, seconds, why, clean=lambda text: scrub(text, self._token))
        self.log.warning(f"waiting: {line}")

    @contextlib.contextmanager
    def _watch(self, what: str, attempt: int) -> Iterator[None]:
        """Announce a request that has no answer after `announce_after_seconds` (a silent
        server), saying when its attempt gives up."""
        limits = self.limits
        after, timeout = limits.announce_after_seconds, limits.timeout_seconds
        if timeout <= after:  # the attempt ends (answer or timeout) before it is worth a line
            yield
            return

        def announce() -> None:
            self._announce(
                f"{what}, attempt {attempt}/{limits.max_attempts}",
                timeout - after,
                f"no answer from {self.base_url} after {after:g} s; this attempt gives up "
                f"at its {timeout:g} s timeout",
            )

        with watchdog().watch(after, announce):
            yield


class _ScrubbedLog:
    """A `logging.Logger`-like (Dagster's `context.log` too) that never receives the token:
    log lines quote Cloudflare's error texts, which could echo anything back."""

    def __init__(self, logger: Any, secret: str) -> None:
        self._logger = logger
        self._secret = secret

    def _emit(self, level: str, message: str) -> None:
        getattr(self._logger, level)(scrub(one_line(message, 600), self._secret))

    def debug(self, message: str) -> None:
        self._emit("debug", message)

    def info(self, message: str) -> None:
        self._emit("info", message)

    def warning(self, message: str) -> None:
        self._emit("warning", message)

    def error(self, message: str) -> None:
        self._emit("error", message)


def _describe_days(batch: list[_Work]) -> str:
    keys = sorted({w.day.report.key for w in batch})
    return keys[0] if len(keys) == 1 else f"{len(keys)} days {keys[0]}..{keys[-1]}"


def _video(item: Any, what: str, *, uid: str | None = None) -> VideoMetadata:
    if not isinstance(item, dict) or not isinstance(uid or item.get("uid"), str):
        raise CloudflareResponseError(f"{what}: a video without a uid")
    meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
    status = item.get("status") if isinstance(item.get("status"), dict) else {}
    return VideoMetadata(
        uid=uid or item["uid"],
        found=True,
        creator=_str_or_none(item.get("creator")),
        name=_str_or_none(meta.get("name")),
        title=_str_or_none(meta.get("title")),
        created=_str_or_none(item.get("created")),
        duration=_number_or_none(item.get("duration")),
        size=_int_or_none(item.get("size")),
        state=_str_or_none(status.get("state")),
        readyToStreamAt=_str_or_none(item.get("readyToStreamAt")),
        scheduledDeletion=_str_or_none(item.get("scheduledDeletion")),
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _number_or_none(value: Any) -> float | None:
    """`duration` in seconds (an int, a float or a numeric string); -1 means unknown."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int_or_none(value: Any) -> int | None:
    """`total` / `range` arrive as ints or as strings ("35586")."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _uint(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise ValueError


def _parse_time(text: Any, what: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise CloudflareResponseError(f"{what}: bad time value {text!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def _error_messages(body: Any) -> list[str]:
    """Error texts from a GraphQL (`errors: [{message}]`) or REST (`errors: [{code, message}]`)
    body; `errors: null` / `[]` is no error."""
    if not isinstance(body, dict) or not body.get("errors"):
        return []
    errors = body["errors"] if isinstance(body["errors"], list) else [body["errors"]]
    out = []
    for e in errors[:5]:
        if isinstance(e, dict):
            text = str(e.get("message") or json.dumps(e, default=str))
            out.append(f"{text} [code {e['code']}]" if e.get("code") is not None else text)
        else:
            out.append(str(e))
    return [one_line(m, 200) for m in out]


def _snippet(response: httpx.Response) -> str:
    try:
        text = response.text
    except Exception:  # undecodable bytes
        text = repr(response.content[:120])
    return one_line(text, 120) if text.strip() else "(empty body)"


def _retry_after(value: str | None) -> float | None:
    """`retry-after` in seconds, or as an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - dt.datetime.now(UTC)).total_seconds())


def _wait_in_text(text: str) -> float | None:
    """ "... try again after 5 minutes" -> 300: budget errors in a 200 body have no header."""
    m = _WAIT_IN_TEXT.search(text)
    if not m:
        return None
    return float(m.group(1)) * (60 if m.group(2).startswith("m") else 1)
