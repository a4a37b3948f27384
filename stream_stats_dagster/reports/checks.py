"""Consistency checks of report documents (seed 001), over the documents' frames.

Each check takes a `Document` (see `reports.tables`) and returns `CheckResult(passed,
description, metadata)`; the Dagster asset checks wrap it in an `AssetCheckResult`. The
description names the first offending keys; metadata holds their count and at most
`MAX_SHOWN` of them.

- `no_negative_values`: no int below zero, in any list or field.
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
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from stream_stats_dagster.dates import window_days
from stream_stats_dagster.facts import MINUTES, VALUES, VIEWS
from stream_stats_dagster.reports.rules import POST_TOP_VIDEOS, TOP_LIST_SIZE, ranked
from stream_stats_dagster.reports.tables import PARENT, Document, Table

__all__ = [
    "MAX_SHOWN",
    "CheckResult",
    "daily_parts_add_up",
    "lists_in_order",
    "no_duplicate_keys",
    "no_negative_values",
    "parts_add_up",
    "series_complete",
    "window_parts_add_up",
]

MAX_SHOWN = 10
SERIES_FIELDS = ("trend", "dailyStats", "dailyTrend")
UNRANKED_FIELDS = (*SERIES_FIELDS, "hourlyTrend")
KEY_COLUMNS = ("uid", "clientCountryName", "creator", "hour", "date")
TOTALS = ("totalMinutesViewed", "totalViewCount")


class CheckResult(NamedTuple):
    passed: bool
    description: str
    metadata: dict[str, Any]
    # ERROR: a failure stops the day's publication; WARN: the day is published and the
    # failed check shows (live_drift's drift checks, by default)
    severity: Literal["ERROR", "WARN"] = "ERROR"


class Problems:
    """What a check found: every problem counted, the first `MAX_SHOWN` described."""

    def __init__(self) -> None:
        self.count = 0
        self.shown: list[str] = []

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.shown) < MAX_SHOWN:
            self.shown.append(text)

    def extend(self, texts: list[str], total: int | None = None) -> None:
        """Problems described by `texts` (the first few of `total`, if given)."""
        for text in texts:
            self.add(text)
        self.count += (len(texts) if total is None else total) - len(texts)


def listed_result(name: str, problems: list[str]) -> CheckResult:
    """A check's result from the problems it listed: the first one described, the first ten
    kept (the cost and live reports' checks, which list their problems themselves)."""
    if not problems:
        return CheckResult(True, f"{name}: ok", {"problems": 0})
    return CheckResult(
        False, f"{name}: {problems[0]}", {"problems": len(problems), "shown": problems[:10]}
    )


def _result(name: str, problems: Problems, **metadata: Any) -> CheckResult:
    if not problems.count:
        return CheckResult(True, f"{name}: ok", metadata)
    shown = "; ".join(problems.shown[:3])
    if problems.count > 3:
        shown += f" (+{problems.count - 3} more)"
    metadata = {**metadata, "problems": problems.count, "first problems": problems.shown}
    return CheckResult(False, f"{name}: {shown}", metadata)


# --- walking the tables ----------------------------------------------------------------


def key_columns(table: Table) -> list[str]:
    """The key of a table's entries: (creator, postName) for posts, else the first of uid,
    clientCountryName, creator, hour, date it has."""
    columns = table.frame.columns
    if "postName" in columns and "uid" not in columns:
        return ["creator", "postName"]
    return [next(c for c in KEY_COLUMNS if c in columns)]


def _all_labels(frame: pd.DataFrame, keys: list[str]) -> list[str]:
    if len(keys) == 1:
        return [repr(v) for v in frame[keys[0]]]
    return [repr(tuple(r)) for r in frame[keys].itertuples(index=False)]


class _Level(NamedTuple):
    """A table of the document with its path (`creators`, `creators[].trend`) and, for a
    child table, the labels of the parent entries (`parent_labels[PARENT of a row]`)."""

    path: str
    name: str
    table: Table
    parent_labels: list[str] | None

    @property
    def is_child(self) -> bool:
        return self.parent_labels is not None

    def parent_of(self, row: int) -> str:
        assert self.parent_labels is not None
        return self.parent_labels[int(self.table.frame[PARENT].iloc[row])]


def _levels(doc: Document) -> Iterator[_Level]:
    for name, table in doc.tables().items():
        yield _Level(name, name, table, None)
        if table.children:
            labels = _all_labels(table.frame, key_columns(table))
            for child_name, child in table.children.items():
                yield _Level(f"{name}[].{child_name}", child_name, child, labels)


def _where(level: _Level, mask: np.ndarray) -> tuple[list[str], int]:
    """Labels of the first rows of a level where `mask` holds (parent key first for
    children), and the number of rows it holds for."""
    rows = np.nonzero(mask)[0]
    frame = level.table.frame.reset_index(drop=True)
    labels = _all_labels(frame.iloc[rows[:MAX_SHOWN]], key_columns(level.table))
    if level.is_child:
        labels = [f"{level.parent_of(r)} {label}" for r, label in zip(rows, labels, strict=False)]
    return labels, len(rows)


# --- single-document checks ------------------------------------------------------------


def no_negative_values(doc: Document) -> CheckResult:
    """No count or minutes below zero, anywhere in the document."""
    problems = Problems()
    for name, value in doc.fields.items():
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            problems.add(f"{name} is {value}")
    for level in _levels(doc):
        frame = level.table.frame
        for column in frame.columns:
            if column == PARENT or frame[column].dtype.kind not in "iu":
                continue
            negative = frame[column].to_numpy() < 0
            if negative.any():
                labels, total = _where(level, negative)
                problems.extend([f"{level.path} {label}: {column} < 0" for label in labels], total)
    return _result("no negative values", problems)


def no_duplicate_keys(doc: Document) -> CheckResult:
    """Each list holds each key once (a series each date once, per entry)."""
    problems = Problems()
    for level in _levels(doc):
        frame = level.table.frame
        if frame.empty:
            continue
        keys = key_columns(level.table)
        repeated = frame.duplicated([PARENT, *keys] if level.is_child else keys).to_numpy()
        if repeated.any():
            labels, total = _where(level, repeated)
            problems.extend([f"{level.path}: {label} repeated" for label in labels], total)
    return _result("no duplicate keys", problems)


def document_end(doc: Document) -> str | None:
    return doc.get("date") or doc.get("endDate") or doc.get("weekEnd")


def series_complete(doc: Document, length: int = 7) -> CheckResult:
    """Every ×7 series covers exactly the seven days ending at the document's date,
    ascending; `hourlyTrend` (daily summary) covers every local hour of the day."""
    problems = Problems()
    end_text = document_end(doc)
    if end_text is None:
        problems.add("document has no date/endDate/weekEnd")
        return _result("series complete", problems)
    expected = [d.isoformat() for d in window_days(dt.date.fromisoformat(end_text), length)]
    span = f"expected {expected[0]}..{end_text}"
    checked = 0
    for level in _levels(doc):
        if level.name not in SERIES_FIELDS:
            continue
        dates = level.table.frame["date"].to_numpy()
        if level.parent_labels is None:
            checked += 1
            if list(dates) != expected:
                problems.add(f"{level.path} has dates {list(dates)}, {span}")
            continue
        labels = level.parent_labels
        parents = level.table.frame[PARENT].to_numpy()
        checked += len(labels)
        counts = np.bincount(parents, minlength=len(labels))
        bad = np.nonzero(counts != length)[0]
        if not len(bad):
            mismatch = dates != np.tile(np.array(expected, dtype=object), len(labels))
            bad = np.unique(parents[mismatch])
        for parent in bad[:MAX_SHOWN]:
            shown = list(dates[parents == parent])
            problems.add(f"{level.path} of {labels[parent]} has dates {shown}, {span}")
        problems.count += max(0, len(bad) - MAX_SHOWN)
    if "hourlyTrend" in doc.fields:
        checked += 1
        problems.extend(_hourly_problems(end_text, list(doc["hourlyTrend"].frame["hour"])))
    for field in ("startDate", "weekStart"):
        if field in doc.fields and doc[field] != expected[0]:
            problems.add(f"{field} {doc[field]} is not {expected[0]}")
    return _result("series complete", problems, series_checked=checked)


def _hourly_problems(day: str, hours: list[str]) -> list[str]:
    if not hours:
        return ["hourlyTrend is empty"]
    try:
        instants = [dt.datetime.fromisoformat(h) for h in hours]
    except (TypeError, ValueError):
        return ["hourlyTrend has an unreadable hour"]
    if any(t.tzinfo is None for t in instants):
        return ["hourlyTrend has an hour without UTC offset"]
    problems = []
    if instants[0].time() != dt.time(0) or instants[0].date().isoformat() != day:
        problems.append(f"hourlyTrend starts at {hours[0]}, not at {day} 00:00")
    if any(t.date().isoformat() != day for t in instants):
        problems.append(f"hourlyTrend has hours outside {day}")
    for a, b in pairwise(instants):
        if b - a != dt.timedelta(hours=1):
            problems.append(f"hourlyTrend jumps from {a.isoformat()} to {b.isoformat()}")
    if not 23 <= len(hours) <= 25:
        problems.append(f"hourlyTrend has {len(hours)} hours")
    return problems


def lists_in_order(doc: Document) -> CheckResult:
    """Ranked lists follow minutes desc, views desc, key asc; top lists have ≤10 entries,
    a post's topVideos ≤5. (Series and hourly rows are not ranked and are skipped.)"""
    problems = Problems()
    for level in _levels(doc):
        frame = level.table.frame.reset_index(drop=True)
        if level.name in UNRANKED_FIELDS or frame.empty:
            continue
        top_list = level.name.startswith("top") and not level.is_child
        if top_list and len(frame) > TOP_LIST_SIZE:
            problems.add(f"{level.path} has {len(frame)} entries, more than {TOP_LIST_SIZE}")
        keys = key_columns(level.table)
        minutes, views = (MINUTES, VIEWS) if MINUTES in frame else TOTALS
        numbered = frame.assign(_row=np.arange(len(frame)))
        if level.parent_labels is None:
            order = ranked(numbered, keys, minutes, views)
        else:
            counts = np.bincount(frame[PARENT].to_numpy(), minlength=len(level.parent_labels))
            for parent in np.nonzero(counts > POST_TOP_VIDEOS)[0]:
                problems.add(
                    f"{level.path} of {level.parent_labels[parent]} has {counts[parent]} "
                    f"entries, more than {POST_TOP_VIDEOS}"
                )
            order = numbered.sort_values(
                [PARENT, minutes, views, *keys],
                ascending=[True, False, False, *[True] * len(keys)],
                kind="mergesort",
            )
        misplaced = order["_row"].to_numpy() != np.arange(len(frame))
        if misplaced.any():
            first = np.zeros(len(frame), dtype=bool)
            first[order["_row"].to_numpy()[misplaced][0]] = True
            labels, _ = _where(level, first)
            problems.add(f"{level.path} out of order at {labels[0]}")
    return _result("lists in order", problems)


def _sums(frame: pd.DataFrame, columns: tuple[str, str] = (MINUTES, VIEWS)) -> tuple[int, int]:
    return int(frame[columns[0]].sum()), int(frame[columns[1]].sum())


def parts_add_up(doc: Document) -> CheckResult:
    """The sums inside one document agree:

    - creators: each creator's trend entry for the day equals its day values;
    - windows: each entry's dailyStats add up to its totals, a summary's dailyStats to its
      totals;
    - daily summary: hourlyTrend adds up to the totals, the last dailyTrend entry equals them;
    - videos-with-posts: each post equals the sum and count of its videos.
    """
    problems = Problems()
    day = doc.get("date")
    for field in ("creators", "countries"):
        table = doc.get(field)
        if table is None or table.frame.empty:
            continue
        frame = table.frame.reset_index(drop=True)
        positions = np.arange(len(frame))
        if "trend" in table.children:
            trend = table.children["trend"].frame
            today = trend[trend["date"] == day].drop_duplicates(PARENT).set_index(PARENT)
            today = today.reindex(positions)
            differs = (today[MINUTES].to_numpy() != frame[MINUTES].to_numpy()) | (
                today[VIEWS].to_numpy() != frame[VIEWS].to_numpy()
            )
            _add_rows(
                problems, table, differs, f"{field} {{}}: trend for {day} differs from the day"
            )
        if "dailyStats" in table.children:
            stats = table.children["dailyStats"].frame
            sums = stats.groupby(PARENT)[VALUES].sum().reindex(positions, fill_value=0)
            differs = (sums[MINUTES].to_numpy() != frame[TOTALS[0]].to_numpy()) | (
                sums[VIEWS].to_numpy() != frame[TOTALS[1]].to_numpy()
            )
            _add_rows(
                problems, table, differs, f"{field} {{}}: dailyStats do not add up to the totals"
            )
    totals = (doc.get(TOTALS[0]), doc.get(TOTALS[1]))
    if "dailyStats" in doc.fields and _sums(doc["dailyStats"].frame) != totals:
        problems.add("dailyStats do not add up to the totals")
    if "hourlyTrend" in doc.fields and _sums(doc["hourlyTrend"].frame) != totals:
        problems.add("hourlyTrend does not add up to the totals")
    if "dailyTrend" in doc.fields:
        trend = doc["dailyTrend"].frame
        today = trend[trend["date"] == day]
        if today.empty or _sums(today.head(1)) != totals:
            problems.add(f"dailyTrend for {day} differs from the totals")
    if "posts" in doc.fields and "videos" in doc.fields:
        _posts_problems(problems, doc["posts"], doc["videos"].frame)
    return _result("parts add up", problems)


def _add_rows(problems: Problems, table: Table, mask: np.ndarray, text: str) -> None:
    """One problem per entry where `mask` holds, `text` formatted with the entry's key."""
    rows = np.nonzero(mask)[0]
    labels = _all_labels(table.frame.iloc[rows[:MAX_SHOWN]], key_columns(table))
    problems.extend([text.format(label) for label in labels], len(rows))


def _posts_problems(problems: Problems, posts: Table, videos: pd.DataFrame) -> None:
    key = ["creator", "postName"]
    by_post = videos.groupby(key, sort=False).agg(
        count=("uid", "size"), **{MINUTES: (MINUTES, "sum"), VIEWS: (VIEWS, "sum")}
    )
    joined = posts.frame.set_index(key).join(by_post, how="outer", rsuffix="_videos")
    no_entry = joined["videoCount"].isna()
    counts = joined["count"].fillna(0)
    wrong_count = ~no_entry & (joined["videoCount"] != counts)
    wrong_sums = (
        ~no_entry
        & ~wrong_count
        & (
            (joined[MINUTES] != joined[f"{MINUTES}_videos"])
            | (joined[VIEWS] != joined[f"{VIEWS}_videos"])
        )
    )
    for post in joined.index[no_entry.to_numpy()]:
        problems.add(f"videos of post {post} have no post entry")
    claimed = joined.loc[wrong_count, "videoCount"]
    for post, count, videos_count in zip(claimed.index, claimed, counts[wrong_count], strict=True):
        problems.add(f"post {post} has videoCount {int(count)}, {int(videos_count)} videos")
    for post in joined.index[wrong_sums.to_numpy()]:
        problems.add(f"post {post} sums differ from its videos")
    if "topVideos" in posts.children:
        top_videos = posts.children["topVideos"].frame
        for uid in top_videos.loc[~top_videos["uid"].isin(videos["uid"]), "uid"]:
            problems.add(f"a post's topVideos has unknown uid {uid}")
    if _sums(posts.frame) != _sums(videos):
        problems.add("posts do not add up to the videos")


# --- checks across the documents of a day or a window ----------------------------------


def _compare_total(problems: Problems, what: str, parts: tuple, total: tuple) -> None:
    if parts != total:
        problems.add(
            f"{what} add up to {parts[0]} minutes / {parts[1]} views, "
            f"the total is {total[0]} / {total[1]}"
        )


def daily_parts_add_up(
    summary: Document, creators: Document, countries: Document, videos: Document | None = None
) -> CheckResult:
    """A day's creators and countries each add up to the summary's totals (`__null__`
    included); the top-N videos add up to at most the totals."""
    total = (summary[TOTALS[0]], summary[TOTALS[1]])
    problems = Problems()
    dates = {summary["date"], creators["date"], countries["date"]}
    if videos is not None:
        dates.add(videos["date"])
    if len(dates) > 1:
        problems.add(f"documents of different days: {sorted(dates)}")
    creators_sum = _sums(creators["creators"].frame)
    countries_sum = _sums(countries["countries"].frame)
    _compare_total(problems, "creators", creators_sum, total)
    _compare_total(problems, "countries", countries_sum, total)
    meta: dict[str, Any] = {
        TOTALS[0]: total[0],
        TOTALS[1]: total[1],
        "creatorsMinutesViewed": creators_sum[0],
        "countriesMinutesViewed": countries_sum[0],
    }
    if videos is not None:
        videos_sum = _sums(videos["videos"].frame)
        meta["videosMinutesViewed"] = videos_sum[0]
        if any(p > t for p, t in zip(videos_sum, total, strict=True)):
            problems.add(f"top videos add up to {videos_sum}, more than the total {total}")
    return _result("parts add up to totals", problems, **meta)


def window_parts_add_up(
    summary: Document, creators: Document, countries: Document | None = None
) -> CheckResult:
    """A window's (weekly or rolling) creators, and countries when given, add up to the
    summary's totals, in total and day by day (`dailyStats`)."""
    total = (summary[TOTALS[0]], summary[TOTALS[1]])
    per_day = summary["dailyStats"].frame.groupby("date", sort=False)[VALUES].sum()
    problems = Problems()
    meta: dict[str, Any] = {TOTALS[0]: total[0], TOTALS[1]: total[1]}
    parts = [("creators", creators)] + ([("countries", countries)] if countries else [])
    for field, doc in parts:
        if document_end(doc) != document_end(summary):
            problems.add(f"{field} ends {document_end(doc)}, the summary {document_end(summary)}")
        table = doc[field]
        parts_sum = _sums(table.frame, TOTALS)
        meta[f"{field}MinutesViewed"] = parts_sum[0]
        _compare_total(problems, field, parts_sum, total)
        stats = table.children["dailyStats"].frame
        by_day = stats.groupby("date")[VALUES].sum().reindex(per_day.index, fill_value=0)
        for date in per_day.index[(by_day != per_day).any(axis=1).to_numpy()]:
            got = tuple(int(v) for v in by_day.loc[date])
            want = tuple(int(v) for v in per_day.loc[date])
            _compare_total(problems, f"{field} on {date}", got, want)
    return _result("parts add up to totals", problems, **meta)


def one_key_per_creator(creators: list[str], key_of: Callable[[str], str]) -> CheckResult:
    """No two creators share a creator key (a digest is collision-resistant, not
    collision-free): each creator's files are theirs alone."""
    seen: dict[str, list[str]] = {}
    for creator in creators:
        seen.setdefault(key_of(creator), []).append(creator)
    problems = Problems()
    for key, names in seen.items():
        if len(names) > 1:
            problems.add(f"key {key} shared by {sorted(names)!r}")
    return _result("creator keys", problems, creators=len(creators), keys=len(seen))
