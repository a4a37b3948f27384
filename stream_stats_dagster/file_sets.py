"""Many small files of one partition, written as a set: each creator's file of a day or week.

A day at the seed's scale has ~10k creator files, ~100k at 10×. Writing them like the other
files (one HEAD to compare the bytes, then a PUT if they differ) would cost a request per
creator even when nothing changed. A set keeps a manifest instead, `{key: md5}` of what its
last publication wrote, read with one GET:

- a file whose MD5 equals the manifest's is not touched (a rebuild from the same facts
  costs one GET and no PUT);
- a changed file is PUT with `If-Match` its manifest ETag, a new one (every file of a new
  day's set) with `If-None-Match`, one request each; if the store disagrees with the
  manifest (a run died between its PUTs and the manifest, or someone changed a file), the
  PUT falls back to the compare-then-put of `ObjectStore.put`;
- a file of the old manifest that the set no longer holds (a creator whose numbers moved
  to another name) is deleted;
- the new manifest is written last, so that a run that dies halfway leaves the old manifest
  and the next run converges.

PUTs and deletes run concurrently (`WRITE_CONCURRENCY`): the store's latency, not its
throughput, is what a set of small files waits on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import jsonbytes
from .storage.base import ObjectStore, PreconditionFailed, md5_hex

WRITE_CONCURRENCY = 16
MANIFEST_CACHE_CONTROL = "private, max-age=0"


@dataclass(frozen=True)
class SetWritten:
    """What writing a set did: files written, unchanged and removed, and their bytes."""

    files: int
    written: int
    unchanged: int
    removed: int
    bytes: int

    def as_metadata(self) -> dict[str, int]:
        return {
            "files": self.files,
            "files_written": self.written,
            "files_unchanged": self.unchanged,
            "files_removed": self.removed,
            "bytes": self.bytes,
        }


def read_manifest(store: ObjectStore, bucket: str, key: str) -> dict[str, str] | None:
    """The manifest at `key` (None: absent, or not a manifest: then every file is compared
    with the store, as without one)."""
    stored = store.get(bucket, key)
    if stored is None:
        return None
    try:
        files = json.loads(stored.body)["files"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        return None
    return files


def write_file_set(
    store: ObjectStore,
    bucket: str,
    manifest_key: str,
    files: Mapping[str, bytes],
    *,
    cache_control: str,
) -> SetWritten:
    """Make the set at `manifest_key` exactly `files` (`{key: bytes}`); see the module."""
    old = read_manifest(store, bucket, manifest_key)
    etags = {key: md5_hex(body) for key, body in files.items()}
    todo = sorted(k for k in files if old is None or old.get(k) != etags[k])
    gone = sorted(set(old or ()) - set(files))

    def put(key: str) -> bool:
        body = files[key]
        previous = None if old is None else old.get(key)
        try:
            if previous is None:  # new to the manifest (or no manifest yet: a new day's set)
                return store.put(
                    bucket, key, body, cache_control=cache_control, if_none_match=True
                ).written
            return store.put(
                bucket, key, body, cache_control=cache_control, if_match=previous
            ).written
        except PreconditionFailed:
            pass  # the store is not what the manifest says: compare, then put
        return store.put(bucket, key, body, cache_control=cache_control).written

    with ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY) as pool:
        written = sum(pool.map(put, todo))
        list(pool.map(lambda key: store.delete(bucket, key), gone))
    manifest = jsonbytes.dumps_plain({"schemaVersion": 1, "files": dict(sorted(etags.items()))})
    store.put(bucket, manifest_key, manifest, cache_control=MANIFEST_CACHE_CONTROL)
    return SetWritten(
        files=len(files),
        written=written,
        unchanged=len(files) - written,
        removed=len(gone),
        bytes=sum(len(b) for b in files.values()),
    )
