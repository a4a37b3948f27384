"""Pure consistency checks of report documents, for Dagster asset checks (seed 001).

Each check takes a document (a pydantic model from `reports.models`, or the plain dict of
its JSON) and returns a `CheckResult(passed, description, metadata)`; the asset check
wraps it in `AssetCheckResult(passed=..., description=..., metadata=...)`. Metadata holds
JSON-friendly values only (counts and at most `MAX_SHOWN` examples).

- `no_negative_values`: no int anywhere below zero.
- `no_duplicate_keys`: each list holds each key once (creator, country, uid, (creator,
  postName), date of a series, hour).
- `series_complete`: every ×7 series is the seven days ending at the document's date,
  ascending; `hourlyTrend` is one entry per consecutive local hour of the day.
- `lists_in_order`: lists follow the sort rule; top lists ≤10, a post's topVideos ≤5.
- `parts_add_up`: the sums inside one document (series vs totals, posts vs videos).
- `daily_parts_add_up` / `window_parts_add_up`: creators and countries add up to the
  summary's totals across the documents of a day or a window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from itertools import pairwise
from typing import Any, NamedTuple

from pydantic import BaseModel

from stream_stats_dagster.reports.rules import bulk_build

__all__ = [
    "MAX_SHOWN",
    "CheckResult",
    "daily_parts_add_up",
    "lists_in_order",
    "no_duplicate_keys",
    "no_negative_values",
    "parts_add_up",
    "run_document_checks",
    "series_complete",
    "window_parts_add_up",
]

MAX_SHOWN = 10
TOP_LIST_SIZE = 10
POST_TOP_VIDEOS = 5
SERIES_FIELDS = ("trend", "dailyStats", "dailyTrend")
TOP_FIELDS = ("topCreators", "topCountries", "topVideos")


class CheckResult(NamedTuple):
    passed: bool
    description: str
    metadata: dict[str, Any]


Doc = BaseModel | Mapping[str, Any]


def _as_dict(doc: Doc) -> dict[str, Any]:
    """The JSON form of a document. Pass the dict yourself to run several checks on a
    large document without dumping it again for each."""
    if isinstance(doc, BaseModel):
        return doc.model_dump(mode="json")
    return doc if isinstance(doc, dict) else dict(doc)


def _result(name: str, problems: list[str], **metadata: Any) -> CheckResult:
    """Pass when there are no problems; otherwise name the first ones in the description."""
    metadata = {"problems": len(problems), **metadata}
    if problems:
        metadata["examples"] = problems[:MAX_SHOWN]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return CheckResult(False, f"{name}: {problems[0]}{more}", metadata)
    return CheckResult(True, name, metadata)


def _entry_key(field: str, entry: Mapping[str, Any]) -> Any:
    """The key of an entry of list `field` (None when the list has no key rule)."""
    if field == "posts":
        return (entry.get("creator"), entry.get("postName"))
    if field in SERIES_FIELDS:
        return entry.get("date")
    for name in ("uid", "hour", "creator", "clientCountryName"):
        if name in entry:
            return entry[name]
    return None


def _lists(node: Any, path: str = "") -> Iterator[tuple[str, str, list]]:
    """Every list of dicts in a document: (path, field name, list)."""
    if isinstance(node, dict):
        for field, value in node.items():
            if isinstance(value, list):
                yield f"{path}{field}", field, value
                for i, item in enumerate(value):
                    yield from _lists(item, f"{path}{field}[{i}].")
            elif isinstance(value, dict):
                yield from _lists(value, f"{path}{field}.")


def _sums(entries: list, minutes: str = "minutesViewed", views: str = "viewCount") -> tuple:
    return sum(e[minutes] for e in entries), sum(e[views] for e in entries)


def _differs(a: tuple, b: tuple, tolerance: int) -> bool:
    return any(abs(x - y) > tolerance for x, y in zip(a, b, strict=True))


# --- generic checks --------------------------------------------------------------------


@bulk_build
def no_negative_values(doc: Doc) -> CheckResult:
    """No int field anywhere in the document is negative."""
    problems: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
        elif isinstance(node, int) and not isinstance(node, bool) and node < 0:
            problems.append(f"{path} = {node}")

    walk(_as_dict(doc), "")
    return _result("no negative values", problems)


@bulk_build
def no_duplicate_keys(doc: Doc) -> CheckResult:
    """Every keyed list holds each key once."""
    problems: list[str] = []
    checked = 0
    for path, field, items in _lists(_as_dict(doc)):
        if not items or not isinstance(items[0], dict):
            continue
        checked += 1
        seen: set = set()
        for entry in items:
            key = _entry_key(field, entry)
            if key is None:
                break
            if key in seen:
                problems.append(f"{path} repeats {key!r}")
            seen.add(key)
    return _result("no duplicate keys", problems, lists_checked=checked)


def _doc_end(d: Mapping[str, Any]) -> str | None:
    for field in ("date", "endDate", "weekEnd"):
        if isinstance(d.get(field), str):
            return d[field]
    return None


def _hourly_problems(day: str, hours: list) -> list[str]:
    if not hours:
        return ["hourlyTrend is empty"]
    problems = []
    try:
        instants = [dt.datetime.fromisoformat(h["hour"]) for h in hours]
    except (TypeError, ValueError, KeyError):
        return ["hourlyTrend has an unreadable hour"]
    if any(t.tzinfo is None for t in instants):
        return ["hourlyTrend has an hour without UTC offset"]
    if instants[0].time() != dt.time(0) or instants[0].date().isoformat() != day:
        problems.append(f"hourlyTrend starts at {hours[0]['hour']}, not at {day} 00:00")
    if any(t.date().isoformat() != day for t in instants):
        problems.append(f"hourlyTrend has hours outside {day}")
    for a, b in pairwise(instants):
        if b - a != dt.timedelta(hours=1):
            problems.append(f"hourlyTrend jumps from {a.isoformat()} to {b.isoformat()}")
    if not 23 <= len(hours) <= 25:
        problems.append(f"hourlyTrend has {len(hours)} hours")
    return problems


@bulk_build
def series_complete(doc: Doc, length: int = 7) -> CheckResult:
    """Every ×7 series covers exactly the seven days ending at the document's date,
    ascending; `hourlyTrend` (daily summary) covers every local hour of the day."""
    d = _as_dict(doc)
    end_text = _doc_end(d)
    if end_text is None:
        return _result("series complete", ["document has no date/endDate/weekEnd"])
    end = dt.date.fromisoformat(end_text)
    expected = [(end - dt.timedelta(days=i)).isoformat() for i in range(length - 1, -1, -1)]
    problems: list[str] = []
    checked = 0
    for path, field, items in _lists(d):
        if field in SERIES_FIELDS:
            checked += 1
            dates = [e.get("date") for e in items]
            if dates != expected:
                problems.append(f"{path} has dates {dates}, expected {expected[0]}..{end_text}")
    if "hourlyTrend" in d:
        checked += 1
        problems.extend(_hourly_problems(end_text, d["hourlyTrend"]))
    if "startDate" in d and d["startDate"] != expected[0]:
        problems.append(f"startDate {d['startDate']} is not {expected[0]}")
    if "weekStart" in d and d["weekStart"] != expected[0]:
        problems.append(f"weekStart {d['weekStart']} is not {expected[0]}")
    return _result("series complete", problems, series_checked=checked)


def _sort_value(field: str, entry: Mapping[str, Any]) -> tuple | None:
    key = _entry_key(field, entry)
    if key is None:
        return None
    if "totalMinutesViewed" in entry:
        return (-entry["totalMinutesViewed"], -entry["totalViewCount"], key)
    if "minutesViewed" in entry:
        return (-entry["minutesViewed"], -entry["viewCount"], key)
    return None


@bulk_build
def lists_in_order(doc: Doc) -> CheckResult:
    """Ranked lists follow minutes desc, views desc, key asc; top lists have ≤10 entries,
    a post's topVideos ≤5. (Series and raw rows are not ranked and are skipped.)"""
    problems: list[str] = []
    for path, field, items in _lists(_as_dict(doc)):
        if field in SERIES_FIELDS or field in ("hourlyTrend", "rows") or not items:
            continue
        if field in TOP_FIELDS:
            limit = POST_TOP_VIDEOS if path.startswith("posts[") else TOP_LIST_SIZE
            if len(items) > limit:
                problems.append(f"{path} has {len(items)} entries, more than {limit}")
        if not isinstance(items[0], dict):
            continue
        values = [_sort_value(field, e) for e in items]
        if None in values:
            continue
        for i, (a, b) in enumerate(pairwise(values)):
            if b < a:
                problems.append(f"{path}[{i + 1}] sorts before {path}[{i}]")
                break
    return _result("lists in order", problems)


# --- sums ------------------------------------------------------------------------------


def _posts_problems(d: Mapping[str, Any]) -> list[str]:
    problems = []
    groups: dict[tuple, list] = {}
    uids = set()
    for v in d["videos"]:
        groups.setdefault((v["creator"], v["postName"]), []).append(v)
        uids.add(v["uid"])
    post_keys = set()
    for p in d["posts"]:
        key = (p["creator"], p["postName"])
        post_keys.add(key)
        videos = groups.get(key, [])
        if p["videoCount"] != len(videos):
            problems.append(f"post {key} has videoCount {p['videoCount']}, {len(videos)} videos")
        if (p["minutesViewed"], p["viewCount"]) != _sums(videos):
            problems.append(f"post {key} sums differ from its videos")
        for tv in p["topVideos"]:
            if tv["uid"] not in uids:
                problems.append(f"post {key} topVideos has unknown uid {tv['uid']}")
    for key in groups.keys() - post_keys:
        problems.append(f"videos of post {key} have no post entry")
    if _sums(d["posts"]) != _sums(d["videos"]):
        problems.append("posts do not add up to the videos")
    return problems


@bulk_build
def parts_add_up(doc: Doc) -> CheckResult:
    """The sums inside one document agree:

    - creators: each creator's trend entry for the day equals its day values;
    - windows: each entry's dailyStats add up to its totals, a summary's dailyStats to its
      totals;
    - daily summary: hourlyTrend adds up to the totals, the last dailyTrend entry equals them;
    - videos-with-posts: each post equals the sum and count of its videos.
    """
    d = _as_dict(doc)
    problems: list[str] = []
    day = d.get("date")
    for field in ("creators", "countries"):
        for e in d.get(field, []):
            name = e.get("creator", e.get("clientCountryName"))
            if "trend" in e:
                today = [t for t in e["trend"] if t["date"] == day]
                if not today or (today[0]["minutesViewed"], today[0]["viewCount"]) != (
                    e["minutesViewed"],
                    e["viewCount"],
                ):
                    problems.append(f"{field} {name!r}: trend for {day} differs from the day")
            if "dailyStats" in e and _sums(e["dailyStats"]) != (
                e["totalMinutesViewed"],
                e["totalViewCount"],
            ):
                problems.append(f"{field} {name!r}: dailyStats do not add up to the totals")
    totals = (d.get("totalMinutesViewed"), d.get("totalViewCount"))
    if "dailyStats" in d and _sums(d["dailyStats"]) != totals:
        problems.append("dailyStats do not add up to the totals")
    if "hourlyTrend" in d and _sums(d["hourlyTrend"]) != totals:
        problems.append("hourlyTrend does not add up to the totals")
    if "dailyTrend" in d:
        today = [t for t in d["dailyTrend"] if t["date"] == day]
        if not today or (today[0]["minutesViewed"], today[0]["viewCount"]) != totals:
            problems.append(f"dailyTrend for {day} differs from the totals")
    if "posts" in d and "videos" in d:
        problems.extend(_posts_problems(d))
    return _result("parts add up", problems)


def _compare_total(
    problems: list[str], what: str, parts: tuple, total: tuple, tolerance: int
) -> None:
    if _differs(parts, total, tolerance):
        problems.append(
            f"{what} add up to {parts[0]} minutes / {parts[1]} views, "
            f"the total is {total[0]} / {total[1]}"
        )


@bulk_build
def daily_parts_add_up(
    summary: Doc,
    creators: Doc,
    countries: Doc,
    videos: Doc | None = None,
    *,
    tolerance: int = 0,
) -> CheckResult:
    """A day's creators and countries each add up to the summary's totals (`__null__`
    included); the top-N videos add up to at most the totals. `tolerance` is the absolute
    difference allowed (0: exact)."""
    s, c, k = _as_dict(summary), _as_dict(creators), _as_dict(countries)
    total = (s["totalMinutesViewed"], s["totalViewCount"])
    problems: list[str] = []
    dates = {s["date"], c["date"], k["date"]}
    creators_sum, countries_sum = _sums(c["creators"]), _sums(k["countries"])
    _compare_total(problems, "creators", creators_sum, total, tolerance)
    _compare_total(problems, "countries", countries_sum, total, tolerance)
    meta: dict[str, Any] = {
        "totalMinutesViewed": total[0],
        "totalViewCount": total[1],
        "creatorsMinutesViewed": creators_sum[0],
        "countriesMinutesViewed": countries_sum[0],
    }
    if videos is not None:
        v = _as_dict(videos)
        dates.add(v["date"])
        videos_sum = _sums(v["videos"])
        meta["videosMinutesViewed"] = videos_sum[0]
        if any(p > t + tolerance for p, t in zip(videos_sum, total, strict=True)):
            problems.append(f"top videos add up to {videos_sum}, more than the total {total}")
    if len(dates) > 1:
        problems.insert(0, f"documents of different days: {sorted(dates)}")
    return _result("parts add up to totals", problems, **meta)


@bulk_build
def window_parts_add_up(
    summary: Doc,
    creators: Doc,
    countries: Doc | None = None,
    *,
    tolerance: int = 0,
) -> CheckResult:
    """A window's (weekly or rolling) creators, and countries when given, add up to the
    summary's totals, in total and day by day (`dailyStats`)."""
    s = _as_dict(summary)
    total = (s["totalMinutesViewed"], s["totalViewCount"])
    per_day = {e["date"]: (e["minutesViewed"], e["viewCount"]) for e in s["dailyStats"]}
    problems: list[str] = []
    meta: dict[str, Any] = {"totalMinutesViewed": total[0], "totalViewCount": total[1]}
    parts = [("creators", _as_dict(creators))]
    if countries is not None:
        parts.append(("countries", _as_dict(countries)))
    for field, doc in parts:
        entries = doc[field]
        if _doc_end(doc) != _doc_end(s):
            problems.append(f"{field} ends {_doc_end(doc)}, the summary {_doc_end(s)}")
        parts_sum = _sums(entries, "totalMinutesViewed", "totalViewCount")
        meta[f"{field}MinutesViewed"] = parts_sum[0]
        _compare_total(problems, field, parts_sum, total, tolerance)
        by_day: dict[str, list[int]] = {}
        for e in entries:
            for stat in e["dailyStats"]:
                acc = by_day.setdefault(stat["date"], [0, 0])
                acc[0] += stat["minutesViewed"]
                acc[1] += stat["viewCount"]
        for date, day_total in per_day.items():
            got = tuple(by_day.get(date, (0, 0)))
            _compare_total(problems, f"{field} on {date}", got, day_total, tolerance)
    return _result("parts add up to totals", problems, **meta)


@bulk_build
def run_document_checks(doc: Doc) -> list[CheckResult]:
    """All single-document checks, in a fixed order (for a quick overall verdict)."""
    d = _as_dict(doc)
    checks: list[Callable[[Doc], CheckResult]] = [
        no_negative_values,
        no_duplicate_keys,
        lists_in_order,
        parts_add_up,
    ]
    if _doc_end(d) is not None and any(f in d for f in (*SERIES_FIELDS, "creators", "countries")):
        checks.append(series_complete)
    return [check(d) for check in checks]
