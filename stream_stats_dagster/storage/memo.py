"""Parsed stored files kept for the rest of the process, checked against their ETag.

The CLI runs a range as one Dagster run per 7 days in one process. Each run reads the
lead days the previous run wrote, the daily and rolling steps read the same raw files,
and every raw step reads the ~17 MB metadata catalogue. Parsing and validating the same
bytes again was most of a 90-day backfill's CPU and most of what it read from R2. A
remembered file costs one HEAD on R2 (a local read without parsing on a directory) and
is read again as soon as its ETag changed (another writer, a rebuild).

Values are shared, never copied: whoever reads one must not change it in place (the
reports build new frames; none assigns into its inputs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from cachetools import LRUCache

from .base import ObjectStore

T = TypeVar("T")


class ParsedFiles:
    """The last `capacity` files parsed, by (store, bucket, key), each with its ETag."""

    def __init__(self, capacity: int) -> None:
        self._items: LRUCache[tuple[str, str, str], tuple[str, Any]] = LRUCache(capacity)
        self._lock = threading.Lock()

    @staticmethod
    def _slot(store: ObjectStore, bucket: str, key: str) -> tuple[str, str, str]:
        return store.describe(), bucket, key

    def remember(self, store: ObjectStore, bucket: str, key: str, etag: str, value: Any) -> None:
        slot = self._slot(store, bucket, key)
        with self._lock:
            self._items[slot] = (etag, value)  # the least recently used one goes

    def recall(self, store: ObjectStore, bucket: str, key: str, etag: str) -> Any | None:
        slot = self._slot(store, bucket, key)
        with self._lock:
            item = self._items.get(slot)  # a use: it becomes the most recent
            return None if item is None or item[0] != etag else item[1]

    def etag(self, store: ObjectStore, bucket: str, key: str) -> str | None:
        """The ETag of the file as last read (None if not remembered); no I/O."""
        with self._lock:
            item = self._items.get(self._slot(store, bucket, key))
        return None if item is None else item[0]

    def read(
        self, store: ObjectStore, bucket: str, key: str, parse: Callable[[bytes], T]
    ) -> tuple[str, T] | None:
        """(ETag, parsed value) of the stored object, parsed only if not remembered as it
        is now; None if there is no such object. A file read before is asked for its ETag
        first (a HEAD); one never read is fetched at once."""
        with self._lock:
            known = self._slot(store, bucket, key) in self._items
        if known:
            etag = store.head(bucket, key)
            if etag is None:
                return None
            value = self.recall(store, bucket, key, etag)
            if value is not None:
                return etag, value
        obj = store.get(bucket, key)
        if obj is None:
            return None
        value = parse(obj.body)
        self.remember(store, bucket, key, obj.etag, value)
        return obj.etag, value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
