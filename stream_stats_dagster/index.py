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

from pydantic import BaseModel

from . import keys
from .dates import iso_week_label
from .facts import SCHEMA_VERSION
from .files import CACHE_CONTROL as FILE_CACHE_CONTROL
from .storage import jsonbytes
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
        doc = IndexDocument() if current is None else IndexDocument.model_validate_json(current)
        old = getattr(doc, kind)
        if old is not None and old.date >= partition_key:
            return None
        return jsonbytes.dumps(doc.model_copy(update={kind: entry(kind, partition_key)}))

    return update_object(store, bucket, keys.INDEX_KEY, update, cache_control=CACHE_CONTROL)


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


def publish_window(store: ObjectStore, bucket: str, end: str) -> dict[str, int]:
    """Publish the window ending `end` once its three history files are written: copy them
    to the `last7days-*` pointers (each only forward), then advance the index. Returns
    counters for the run's metadata."""
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
