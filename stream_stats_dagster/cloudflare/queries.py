"""Pure builders for the GraphQL documents the client sends (no I/O, easy to validate).

Every node reads `streamMinutesViewedAdaptiveGroups` in one account scope, bounded by UTC
instants (`datetime_geq` / `datetime_lt`), never by Cloudflare's UTC `date` dimension, because
report days are local days. Several nodes share one document under distinct aliases; Cloudflare
still counts each node as one query against its budget, so batching saves HTTP requests, not
budget. All values travel as variables typed with the schema's own scalar names (`string!`,
`Time!`), so creator names need no escaping and the document validates against the real schema.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

DATASET = "streamMinutesViewedAdaptiveGroups"
MAX_PAGE_SIZE = 10000  # Cloudflare's documented maximum `limit`
SERIES_LIMIT = 1000  # a day has at most 25 hours / 100 quarter hours; 31 days of hours = 744

# Dimension -> the keyset filter/sort it pages with.
KEYSET_DIMENSIONS = ("creator", "clientCountryName", "uid")
TIME_DIMENSIONS = ("datetimeHour", "datetimeFifteenMinutes")
TOP_VIDEO_ORDER = ("sum_minutesViewed_DESC", "count_DESC", "uid_ASC")

_ALIAS = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


@dataclass(frozen=True)
class Node:
    """One aliased `streamMinutesViewedAdaptiveGroups` field of a document."""

    alias: str
    dimensions: tuple[str, ...]
    start: str  # UTC instant, RFC 3339 with Z
    end: str
    limit: int
    order_by: tuple[str, ...]
    after: tuple[str, str] | None = None  # keyset: (dimension, last value) -> `<dim>_gt`
    inclusive: bool = False  # `<dim>_geq` instead: the last key may continue on this page

    def __post_init__(self) -> None:
        if not _ALIAS.match(self.alias):
            raise ValueError(f"bad GraphQL alias {self.alias!r}")
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be in 1..{MAX_PAGE_SIZE}, not {self.limit}")


def keyset_node(
    alias: str,
    dimension: str,
    start: str,
    end: str,
    after: str | None = None,
    *,
    limit: int = MAX_PAGE_SIZE,
) -> Node:
    """A complete-list page grouped by one key (`creator`, `clientCountryName`), ascending;
    the next page starts after the previous page's last key (`<key>_gt`)."""
    if dimension not in KEYSET_DIMENSIONS:
        raise ValueError(f"cannot page by {dimension!r}")
    return Node(
        alias=alias,
        dimensions=(dimension,),
        start=start,
        end=end,
        limit=limit,
        order_by=(f"{dimension}_ASC",),
        after=None if after is None else (dimension, after),
    )


def uid_minutes_node(
    alias: str, start: str, end: str, after: str | None = None, *, limit: int = MAX_PAGE_SIZE
) -> Node:
    """Every video with views in [start, end) with its creator, ascending by uid then
    creator (one row per uid, unless its creator changed within the span). The next page
    starts AT the previous page's last uid (`uid_geq`), so rows of one uid split by a page
    end are not skipped; the reader drops the rows it already has. The cost reports' and
    the creators' files' per-video minutes: a complete list, where `top_videos_node` is
    only the top N."""
    return Node(
        alias=alias,
        dimensions=("uid", "creator"),
        start=start,
        end=end,
        limit=limit,
        order_by=("uid_ASC", "creator_ASC"),
        after=None if after is None else ("uid", after),
        inclusive=True,
    )


def top_videos_node(alias: str, start: str, end: str, top: int) -> Node:
    """The day's top-N videos by minutes (ties by count, then uid), with their creator."""
    return Node(
        alias=alias,
        dimensions=("uid", "creator"),
        start=start,
        end=end,
        limit=top,
        order_by=TOP_VIDEO_ORDER,
    )


def series_node(alias: str, dimension: str, start: str, end: str) -> Node:
    """A time series grouped by `datetimeHour` or `datetimeFifteenMinutes`, ascending."""
    if dimension not in TIME_DIMENSIONS:
        raise ValueError(f"{dimension!r} is not a time bucket dimension")
    return Node(
        alias=alias,
        dimensions=(dimension,),
        start=start,
        end=end,
        limit=SERIES_LIMIT,
        order_by=(f"{dimension}_ASC",),
    )


def build_query(nodes: Sequence[Node], *, name: str = "StreamMinutes") -> tuple[str, dict]:
    """The document and its variables (without `accountTag`, which the caller adds).

    Equal values share one variable (a day's end is the next day's start)."""
    if not nodes:
        raise ValueError("a query needs at least one node")
    if len({n.alias for n in nodes}) != len(nodes):
        raise ValueError("node aliases must be unique")
    declarations = ["$accountTag: string!"]
    variables: dict[str, str] = {}
    names: dict[tuple[str, str], str] = {}

    def var(scalar: str, value: str) -> str:
        key = (scalar, value)
        if key not in names:
            names[key] = f"{'t' if scalar == 'Time' else 'k'}{len(names)}"
            declarations.append(f"${names[key]}: {scalar}!")
            variables[names[key]] = value
        return "$" + names[key]

    fields = []
    for node in nodes:
        filters = [
            f"datetime_geq: {var('Time', node.start)}",
            f"datetime_lt: {var('Time', node.end)}",
        ]
        if node.after is not None:
            dimension, value = node.after
            op = "geq" if node.inclusive else "gt"
            filters.append(f"{dimension}_{op}: {var('string', value)}")
        fields.append(
            f"      {node.alias}: {DATASET}(\n"
            f"        filter: {{{', '.join(filters)}}}\n"
            f"        orderBy: [{', '.join(node.order_by)}]\n"
            f"        limit: {node.limit}\n"
            f"      ) {{\n"
            f"        count\n"
            f"        sum {{ minutesViewed }}\n"
            f"        dimensions {{ {' '.join(node.dimensions)} }}\n"
            f"      }}"
        )
    document = (
        f"query {name}({', '.join(declarations)}) {{\n"
        f"  viewer {{\n"
        f"    accounts(filter: {{accountTag: $accountTag}}) {{\n"
        + "\n".join(fields)
        + "\n    }\n  }\n}\n"
    )
    return document, variables
