"""`stream-stats/index.json`: where the newest files are, so readers need not list the bucket.

It names the latest complete day, the latest week and the newest rolling window, with
their keys. Each entry only moves forward (like the rolling pointer): a backfill of old
days never makes the index point back in time. Updates are conditional read-modify-writes,
so concurrent runs cannot lose each other's entries.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from . import keys
from .dates import iso_week_label
from .facts import SCHEMA_VERSION
from .storage import jsonbytes
from .storage.base import ObjectStore, update_object

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
    files = {n: keys.rolling_pointer_key(n) for n in NAMES[kind]}
    files.update({f"history-{n}": keys.rolling_history_key(day, n) for n in NAMES[kind]})
    return IndexEntry(date=partition_key, files=files)


def advance_index(store: ObjectStore, bucket: str, kind: str, partition_key: str) -> bool:
    """Point the index's `kind` entry at `partition_key` unless it already points later."""

    def update(current: bytes | None) -> bytes | None:
        doc = IndexDocument() if current is None else IndexDocument.model_validate_json(current)
        old = getattr(doc, kind)
        if old is not None and old.date >= partition_key:
            return None
        return jsonbytes.dumps(doc.model_copy(update={kind: entry(kind, partition_key)}))

    return update_object(store, bucket, keys.INDEX_KEY, update, cache_control=CACHE_CONTROL)
