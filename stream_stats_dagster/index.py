"""`stream-stats/index.json`: where the newest files are, and the commit point readers follow.

It names the latest complete day, the latest week and the newest rolling window, with
their keys. It is written last, after every file it names (an entry moves only once all
its files exist), so a reader that follows it never sees a half-written day or a window
mixed from two runs. The rolling window's entry names the window's history files, which
never change once complete; the `rolling/last7days-*` pointers are a convenience: all three
move together, right before the index (`publish_window`), and converge on the next
successful run if a run dies between them.

Each entry, and each pointer, only moves forward: a backfill of old days never makes them
point back in time. Updates are conditional read-modify-writes, so concurrent runs cannot
lose each other's entries.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ValidationError

from . import jsonbytes, keys
from .dates import iso_week_label
from .facts import SCHEMA_VERSION
from .files import CACHE_CONTROL as FILE_CACHE_CONTROL
from .progress import notice
from .storage.base import ObjectStore, put_if_newer, update_object

CACHE_CONTROL = "public, max-age=60"
NAMES = {
    "daily": ("creators", "countries", "videos-with-posts", "summary"),
    "weekly": ("creators", "summary"),
    "rolling": ("creators", "countries", "summary"),
}


class IndexEntry(BaseModel):
    date: str  # the day, the week's Monday or the window's end date
    label: str | None = None  # ISO week label for weeks ("2025-10")
    files: dict[str, str]


class IndexDocument(BaseModel):
    schemaVersion: int = SCHEMA_VERSION
    daily: IndexEntry | None = None
    weekly: IndexEntry | None = None
    rolling: IndexEntry | None = None


def entry(kind: str, partition_key: str) -> IndexEntry:
    day = dt.date.fromisoformat(partition_key)
    if kind == "daily":
        files = {n: keys.daily_key(day, n) for n in NAMES[kind]}
        return IndexEntry(date=partition_key, files=files)
    if kind == "weekly":
        files = {n: keys.weekly_key(day, n) for n in NAMES[kind]}
        return IndexEntry(date=partition_key, label=iso_week_label(day), files=files)
    files = {n: keys.rolling_history_key(day, n) for n in NAMES[kind]}
    return IndexEntry(date=partition_key, files=files)


def advance_index(store: ObjectStore, bucket: str, kind: str, partition_key: str) -> bool:
    """Point the index's `kind` entry at `partition_key` unless it already points later, or
    one of the entry's files does not exist (a run that built part of a day names nothing)."""
    named = entry(kind, partition_key).files.values()
    if any(store.head(bucket, key) is None for key in named):
        return False

    def update(current: bytes | None) -> bytes | None:
        doc, rebuilt = IndexDocument(), False
        if current is not None:
            doc, rebuilt = _parsed_or_rebuilt(store, bucket, current)
        old = getattr(doc, kind)
        if old is not None and old.date >= partition_key:
            return jsonbytes.dumps(doc) if rebuilt else None
        return jsonbytes.dumps(doc.model_copy(update={kind: entry(kind, partition_key)}))

    return update_object(store, bucket, keys.INDEX_KEY, update, cache_control=CACHE_CONTROL)


def _parsed_or_rebuilt(
    store: ObjectStore, bucket: str, current: bytes
) -> tuple[IndexDocument, bool]:
    """The stored index, or, when it does not parse, the index the stored files say (and
    True: it must be written even if no entry moves)."""
    try:
        return IndexDocument.model_validate_json(current), False
    except (ValidationError, ValueError):
        notice(f"{bucket}/{keys.INDEX_KEY} is not a valid index: rebuilt from the stored files")
        return rebuilt_index(store, bucket), True


def complete_partitions(store: ObjectStore, bucket: str, kind: str) -> list[str]:
    """The partitions of `kind` whose files all exist (listing its prefix), ascending."""
    prefix = {"daily": "daily/", "weekly": "weekly/", "rolling": "rolling/history/"}[kind]
    found = set(store.list(bucket, f"{keys.PREFIX}/{prefix}"))
    dates = sorted({key.rsplit("/", 1)[-1][:10] for key in found})
    complete = []
    for date in dates:
        try:
            named = entry(kind, date).files.values()
        except ValueError:  # a weekly file name starts with its ISO week, not a date
            continue
        if all(k in found for k in named):
            complete.append(date)
    return complete


def rebuilt_index(store: ObjectStore, bucket: str) -> IndexDocument:
    """Each entry at the newest partition whose files all exist, as listing them finds."""
    doc = IndexDocument()
    for kind in NAMES:
        partitions = (
            _complete_weeks(store, bucket)
            if kind == "weekly"
            else complete_partitions(store, bucket, kind)
        )
        if partitions:
            doc = doc.model_copy(update={kind: entry(kind, partitions[-1])})
    return doc


def _complete_weeks(store: ObjectStore, bucket: str) -> list[str]:
    """The Mondays of the weeks whose files all exist (their keys hold the ISO week)."""
    found = set(store.list(bucket, f"{keys.PREFIX}/weekly/"))
    mondays = set()
    for key in found:
        label = key.rsplit("/", 1)[-1][:7]  # "2025-10"
        try:
            year, week = int(label[:4]), int(label[5:7])
            mondays.add(dt.date.fromisocalendar(year, week, 1).isoformat())
        except ValueError:
            continue
    return sorted(m for m in mondays if all(k in found for k in entry("weekly", m).files.values()))


class WindowEnd(BaseModel):
    """The one field of a stored rolling window that its pointer's rule reads. Validating
    only it skips the rest of the document without building it (a 7-day creators window
    parsed whole took +20 MiB, the warm day's peak)."""

    endDate: str = ""


def rolling_is_newer(end: str):
    """Only-forward rule of the rolling pointer: the same end date replaces, older never does."""

    def is_newer(current: bytes | None) -> bool:
        return current is None or WindowEnd.model_validate_json(current).endDate <= end

    return is_newer


def heal_pointers(store: ObjectStore, bucket: str) -> int:
    """Put the newest complete window back at each `last7days-*` pointer that does not parse
    (its only-forward rule cannot read a corrupt one); returns how many were healed."""
    healed = 0
    for name in NAMES["rolling"]:
        key = keys.rolling_pointer_key(name)
        current = store.get(bucket, key)
        if current is None:
            continue
        try:
            WindowEnd.model_validate_json(current.body)
            continue
        except (ValidationError, ValueError):
            pass
        windows = complete_partitions(store, bucket, "rolling")
        if not windows:
            continue
        newest = store.get(
            bucket, keys.rolling_history_key(dt.date.fromisoformat(windows[-1]), name)
        )
        if newest is None:
            continue
        notice(f"{bucket}/{key} is not a valid window: rebuilt from {windows[-1]}'s history file")
        store.put(
            bucket,
            key,
            newest.body,
            cache_control=FILE_CACHE_CONTROL["pointer"],
            if_match=current.etag,
        )
        healed += 1
    return healed


def publish_window(store: ObjectStore, bucket: str, end: str) -> dict[str, int]:
    """Publish the window ending `end` once its three history files are written: copy them
    to the `last7days-*` pointers (each only forward), then advance the index. Returns
    counters for the run's metadata."""
    heal_pointers(store, bucket)
    day = dt.date.fromisoformat(end)
    bodies = {}
    for name in NAMES["rolling"]:
        obj = store.get(bucket, keys.rolling_history_key(day, name))
        if obj is None:
            return {"pointers_moved": 0, "index_moved": 0}
        bodies[name] = obj.body
    moved = sum(
        put_if_newer(
            store,
            bucket,
            keys.rolling_pointer_key(name),
            body,
            is_newer=rolling_is_newer(end),
            cache_control=FILE_CACHE_CONTROL["pointer"],
        )
        for name, body in bodies.items()
    )
    return {"pointers_moved": moved, "index_moved": advance_index(store, bucket, "rolling", end)}
