"""`stream-stats migrate-private`: move the private files of an install that kept everything
in the stats bucket into `PRIVATE_BUCKET`.

Private is everything that is not a report for readers: the raw facts and their revisions,
the metadata cache, the catalogue snapshots and the cost reports. R2 grants access per
bucket, with no per-prefix rights, so once the stats bucket is readable by the web app (or
served publicly) all of it is; these files must live elsewhere.

Each file is copied, verified by its checksum (the ETag of a single-part object is the MD5 of
its bytes), and only then deleted from the stats bucket: an interruption at any point leaves
every file in at least one bucket, whole, and running the command again finishes the move.
A file the pipeline has already written to the private bucket since `PRIVATE_BUCKET` was set
is newer than the stats bucket's copy and stays; a raw file's older copy is kept beside it as
a revision (contract §4), any other older copy is dropped (it is rebuilt from the facts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from .files import CACHE_CONTROL
from .keys import PREFIX, raw_revision_key
from .storage.base import ObjectStore, StorageError, md5_hex

PRIVATE_PREFIXES = {
    f"{PREFIX}/raw/": CACHE_CONTROL["raw"],
    f"{PREFIX}/cache/": "private, max-age=0",
    f"{PREFIX}/costs/": CACHE_CONTROL["costs"],
}


@dataclass
class Moved:
    copied: int = 0  # copied and verified, then deleted from the stats bucket
    present: int = 0  # already in the private bucket, byte for byte (an earlier, cut run)
    kept_newer: int = 0  # the private bucket has a newer version; the old one was set aside
    bytes: int = 0


def migrate_private(
    store: ObjectStore, stats: str, private: str, *, echo: Callable[[str], None] = print
) -> Moved:
    """Move every private file from `stats` to `private` (see the module docstring)."""
    if stats == private:
        raise ValueError("the stats and private buckets are the same bucket")
    moved = Moved()
    for prefix, cache_control in PRIVATE_PREFIXES.items():
        keys = store.list(stats, prefix)
        if keys:
            echo(f"  {prefix}: {len(keys)} file(s) to move")
        for key in keys:
            source = store.get(stats, key)
            if source is None:  # gone since the listing (another run of this command)
                continue
            current = store.head(private, key)
            if current == source.etag:
                moved.present += 1
            elif current is not None:
                _set_aside(store, private, key, source.body, cache_control)
                moved.kept_newer += 1
            else:
                store.put(private, key, source.body, cache_control=cache_control)
                if store.head(private, key) != md5_hex(source.body):
                    raise StorageError(
                        f"{private}/{key} does not hold the bytes copied to it: nothing was "
                        f"deleted from {stats}; run migrate-private again"
                    )
                moved.copied += 1
                moved.bytes += len(source.body)
            store.delete(stats, key)
    return moved


def _set_aside(store: ObjectStore, bucket: str, key: str, body: bytes, cache_control: str) -> None:
    """An older raw file becomes a revision of the newer one (other kinds are rebuilt)."""
    name = key.rsplit("/", 1)[-1]
    if not key.startswith(f"{PREFIX}/raw/") or "/revisions/" in key or len(name) < 16:
        return
    day, rest = dt.date.fromisoformat(name[:10]), name[11:].removesuffix(".json")
    store.put(
        bucket,
        raw_revision_key(day, rest, dt.datetime.now(dt.UTC)),
        body,
        cache_control=cache_control,
    )
