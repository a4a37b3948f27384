"""The analytics queries: report days, hours and per-video minutes from Cloudflare's GraphQL.

Cloudflare charges every dataset node against a budget and caps every list at one page, so
this module packs the nodes of several days into as few requests as Cloudflare accepts
(halving them when it refuses a request as too big), follows full pages with keyset pages
until a page is short, and checks every row before folding it into the day's facts. The
query texts come from `queries`; sending and retrying are `transport`'s.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from ..dates import ReportDay, local_hour_label, to_utc_z
from ..facts import DayFacts, fact_frame
from . import queries
from .errors import CloudflareQueryError, CloudflareResponseError, one_line
from .transport import Transport, parse_time

T = TypeVar("T")


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


class Analytics:
    """GraphQL Analytics of one account, in the report time zone."""

    def __init__(self, transport: Transport, timezone: str) -> None:
        self.transport = transport
        self.timezone = timezone
        self.account_id = transport.account_id
        self.limits = transport.limits
        self.log = transport.log
        self._url = f"{transport.base_url}/graphql"

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
        deadline = self.transport.deadline()
        what = f"hourly series {node.start}..{node.end}"
        rows = self._rows(self._graphql([node], what, deadline)["hours"], node, what)
        if len(rows) >= node.limit:
            raise CloudflareResponseError(f"{what}: {len(rows)} rows, more than one page of hours")
        totals: dict[dt.datetime, list[int]] = {}
        for dims, count, minutes in rows:
            hour = parse_time(dims[dimension], what)
            total = totals.setdefault(hour, [0, 0])
            total[0] += minutes
            total[1] += count
        return [(hour, m, c) for hour, (m, c) in sorted(totals.items())]

    def fetch_uid_minutes(self, days: Sequence[dt.date]) -> dict[str, dict[str, list]]:
        """Minutes and views of every video with views on each report day, keyed by
        `YYYY-MM-DD`, as columns `uid`, `creator`, `minutesViewed`, `viewCount` ascending by
        uid then creator. Complete: each day is keyset-paged by uid until a page is short
        (~50k videos a day at the seed's scale: 5-6 nodes). A page starts at the previous
        page's last uid, whose rows already read are dropped. Pages of several days share
        requests."""
        keys: list[str] = []
        out: dict[str, dict[str, list]] = {}
        seen: dict[int, set[str]] = {}  # per day: the last uid's creators already read
        queue: deque[tuple[int, int, queries.Node]] = deque()
        for i, day in enumerate(dict.fromkeys(days)):
            r = ReportDay(day, self.timezone)
            keys.append(r.key)
            out[r.key] = {"uid": [], "creator": [], "minutesViewed": [], "viewCount": []}
            seen[i] = set()
            start, end = to_utc_z(r.start_utc), to_utc_z(r.end_utc)
            node = queries.uid_minutes_node(f"u{i}_p1", start, end, limit=self.limits.page_size)
            queue.append((i, 1, node))

        def describe(batch: list[tuple[int, int, queries.Node]]) -> str:
            span = sorted({keys[i] for i, _, _ in batch})
            return f"per-video minutes of {span[0]}" + (f"..{span[-1]}" if len(span) > 1 else "")

        def absorb(item: tuple[int, int, queries.Node], value: Any):
            i, page, node = item
            what = f"{node.alias} ({keys[i]})"
            rows = self._rows(value, node, what)
            columns = out[keys[i]]
            added = 0
            for dims, count, minutes in rows:
                uid, creator = dims["uid"], dims["creator"]
                last = columns["uid"][-1] if columns["uid"] else None
                if last is not None and uid < last:
                    raise CloudflareResponseError(
                        f"{what}: uid {uid!r} after {last!r}: rows are not in uid order"
                    )
                if uid == last and creator in seen[i]:
                    continue  # read on the page before
                if uid != last:
                    seen[i] = set()
                seen[i].add(creator)
                columns["uid"].append(uid)
                columns["creator"].append(creator)
                columns["minutesViewed"].append(minutes)
                columns["viewCount"].append(count)
                added += 1
            if len(rows) < node.limit:
                return None
            if not added:
                raise CloudflareResponseError(
                    f"{what}: a full page of rows already read: uid {rows[-1][0]['uid']!r} "
                    f"has more creators than a page holds ({node.limit})"
                )
            self._check_pages(what, page, node.limit)
            alias = f"u{i}_p{page + 1}"
            after = columns["uid"][-1]
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
        deadline = self.transport.deadline()
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
            t = parse_time(dims[node.dimensions[0]], what)
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
            self.transport.stats.add(graphql_requests=1, nodes=len(nodes))
            return self.transport.send("POST", self._url, json=payload)

        def interpret(response: httpx.Response) -> dict[str, Any]:
            body = self.transport.check(response, what, graphql=True)
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

        return self.transport.attempts(
            what,
            send,
            interpret,
            lambda: self.transport.pacer.graphql(len(nodes), deadline=deadline),
            deadline,
            graphql=True,
        )


def _describe_days(batch: list[_Work]) -> str:
    keys = sorted({w.day.report.key for w in batch})
    return keys[0] if len(keys) == 1 else f"{len(keys)} days {keys[0]}..{keys[-1]}"


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
