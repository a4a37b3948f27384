"""Asset files in a store: read and write each partition's document at its key.

Above the object stores (keys and bytes) and the file table (`files`: key layout, model,
bytes), below Dagster: the IO manager, the report steps and the CLI all read and write
partitions through these two functions, so a file is always encoded, keyed and validated
the same way.

A stored file that does not parse or validate is a `BadStoredFile`: one line naming the
bucket, key, day and reason, with the asset and day as fields. `read_documents(...,
tolerant=True)` returns such files apart (`Loaded.unreadable`) instead of raising, so that a
step can fail only the days that read them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError

from .files import ASSET_FILES, COST_FILES, AssetFile
from .keys import raw_revision_key, raw_revisions_prefix
from .storage.base import ObjectStore, StorageError, md5_hex
from .storage.memo import ParsedFiles

LOAD_CONCURRENCY = 8
# Decoded raw extracts: a 7-day run reads 13 days of 5 kinds, the next run 6 of those again.
RAW_FILES = ParsedFiles(capacity=128)


class BadStoredFile(StorageError):
    """A stored file that does not parse or does not validate against its model."""

    def __init__(self, message: str, asset: str, day: str, key: str):
        super().__init__(message)
        self.asset, self.day, self.key = asset, day, key


class Loaded(dict):
    """`{partition_key: document}` of the partitions that exist and are valid; the stored
    files that are not valid are in `unreadable` (`{partition_key: BadStoredFile}`)."""

    def __init__(self, docs: Mapping[str, Any] = (), unreadable: Mapping[str, BadStoredFile] = ()):
        super().__init__(docs)
        self.unreadable: dict[str, BadStoredFile] = dict(unreadable)


def asset_of(spec: AssetFile) -> str:
    return next((n for n, f in {**ASSET_FILES, **COST_FILES}.items() if f is spec), spec.name)


def write_documents(
    store: ObjectStore,
    bucket: str,
    spec: AssetFile,
    docs: Mapping[str, object],
    *,
    keep_revisions: bool = False,
) -> dict[str, int]:
    """Write each partition's document; returns counters (bytes, files written, unchanged).

    `keep_revisions` (the raw facts): a stored file that the new bytes replace is first
    copied to its dated revision key, so that a bad replacement can be undone
    (`restore_revision`)."""
    written = skipped = size = 0
    for partition_key in sorted(docs):
        body = spec.encode(docs[partition_key])
        size += len(body)
        key = spec.key(partition_key)
        if keep_revisions:
            keep_revision(store, bucket, key, body, spec, partition_key)
        result = store.put(bucket, key, body, cache_control=spec.cache_control)
        written += result.written
        skipped += not result.written
    return {"files_written": written, "files_unchanged": skipped, "bytes": size}


def read_documents(
    store: ObjectStore,
    bucket: str,
    spec: AssetFile,
    partition_keys: Sequence[str],
    *,
    tolerant: bool = False,
) -> Loaded:
    """The partitions that exist, read concurrently (a 7-day window is 7 round trips). An
    invalid file raises `BadStoredFile`, or with `tolerant` is set apart in `unreadable`."""

    def read(pk: str) -> tuple[str, object | None]:
        key = spec.key(pk)

        def decode(body: bytes) -> object:
            try:
                return spec.decode(body)
            except (ValidationError, ValueError) as exc:
                raise BadStoredFile(
                    f"{bucket}/{key} (day {pk}) is not a valid {spec.name} file: {_reason(exc)}",
                    asset=asset_of(spec),
                    day=pk,
                    key=key,
                ) from None

        try:
            if spec.layout == "raw":  # read again by later steps and runs of this process
                found = RAW_FILES.read(store, bucket, key, decode)
                return pk, None if found is None else found[1]
            obj = store.get(bucket, key)
            return pk, None if obj is None else decode(obj.body)
        except BadStoredFile as exc:
            if not tolerant:
                raise
            return pk, exc

    if len(partition_keys) == 1:
        pairs = [read(partition_keys[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(LOAD_CONCURRENCY, len(partition_keys))) as pool:
            pairs = list(pool.map(read, partition_keys))
    return Loaded(
        {pk: doc for pk, doc in pairs if doc is not None and not isinstance(doc, BadStoredFile)},
        {pk: doc for pk, doc in pairs if isinstance(doc, BadStoredFile)},
    )


def keep_revision(
    store: ObjectStore, bucket: str, key: str, body: bytes, spec: AssetFile, partition_key: str
) -> str | None:
    """Copy the stored object at `key` to its revision key if `body` is about to replace it
    with other bytes; returns the revision key (None: nothing stored, or the same bytes)."""
    if RAW_FILES.etag(store, bucket, key) == md5_hex(body):
        return None  # read by this process moments ago, with these very bytes
    old = store.get(bucket, key)
    if old is None or old.etag == md5_hex(body):
        return None
    day = dt.date.fromisoformat(partition_key)
    revision = raw_revision_key(day, spec.name, dt.datetime.now(dt.UTC))
    store.put(bucket, revision, old.body, cache_control=spec.cache_control)
    return revision


def restore_revision(store: ObjectStore, bucket: str, spec: AssetFile, day: dt.date) -> str | None:
    """Put the newest kept revision of `spec`'s file of `day` back in place, keeping the
    version it replaces as a revision in turn (so a restore can be undone too); returns
    the revision key restored, None if there is none."""
    prefix = raw_revisions_prefix(day) + f"{spec.name}."
    revisions = store.list(bucket, prefix)
    if not revisions:
        return None
    newest = revisions[-1]
    old = store.get(bucket, newest)
    if old is None:
        return None
    key = spec.key(day.isoformat())
    keep_revision(store, bucket, key, old.body, spec, day.isoformat())
    store.put(bucket, key, old.body, cache_control=spec.cache_control)
    store.delete(bucket, newest)
    return newest


def read_etag(store: ObjectStore, bucket: str, key: str) -> str | None:
    """The ETag of a raw file as this process last read it (None: not read, or invalid)."""
    return RAW_FILES.etag(store, bucket, key)


def _reason(exc: Exception) -> str:
    """The first problem of a validation error, in one line."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        return f"{where}: {first['msg']} ({exc.error_count()} error(s))"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
