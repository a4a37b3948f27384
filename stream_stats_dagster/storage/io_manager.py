"""The IO manager: every asset is one JSON file per partition at its SPEC §4 key.

Assets always return `{partition_key: value}` and always receive partitioned inputs as
`{partition_key: value}` (only the partitions that exist), so single partitions, ranges of
days and 7-day windows all go through the same code. Values are raw extracts
(`facts.RawExtract` frames) or report documents; `files.AssetFile` turns them into bytes and
back. Writing a kind's last file (the day's, week's or window's summary) publishes it:
the window's three `rolling/last7days-*` pointers move together, then `index.json` (see
`index.py`), so the index is written last, after every file it names.

A stored file that does not parse or validate fails the step with one line naming the
bucket, key, day and reason (`BadStoredFile`); `readers_of` says which days read it.
"""

import contextlib
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
from pydantic import ValidationError

from ..files import ASSET_FILES, INDEXED_ASSETS, AssetFile
from ..index import advance_index, publish_window
from .base import ObjectStore, StorageError
from .memo import ParsedFiles
from .resource import StorageResource

LOAD_CONCURRENCY = 8
# Decoded raw extracts: a 7-day run reads 13 days of 5 kinds, the next run 6 of those again.
RAW_FILES = ParsedFiles(capacity=128)


# Failure metadata naming the invalid stored file a step failed on (asset name, day).
BAD_ASSET = "bad_file_asset"
BAD_DAY = "bad_file_day"
WINDOW_DAYS = 7


class BadStoredFile(StorageError):
    """A stored file that does not parse or does not validate against its model."""

    def __init__(self, message: str, asset: str, day: str):
        super().__init__(message)
        self.asset, self.day = asset, day

    def failure(self) -> dg.Failure:
        """A one-line, non-retried step failure that says which file and day (for the
        failure records and for `collect`, see `readers_of`)."""
        metadata = {BAD_ASSET: self.asset, BAD_DAY: self.day}
        return dg.Failure(description=str(self), metadata=metadata, allow_retries=False)


_BAD_FILE = re.compile(
    r"(?:^|\s)[^\s/]+/(?P<key>\S+\.json) \(day (?P<day>\d{4}-\d{2}-\d{2})\) is not a valid "
)


def bad_file_named(text: str | None) -> tuple[str, str] | None:
    """(asset, day) of the invalid stored file an error message names (a `BadStoredFile`'s
    one line, also when another layer re-raised it as a plain `Failure`), or None."""
    match = _BAD_FILE.search(text or "")
    if not match:
        return None
    key, day = match["key"], match["day"]
    asset = next((n for n, f in ASSET_FILES.items() if f.key(day) == key), None)
    return (asset, day) if asset else None


def readers_of(
    asset: str, day: str, partition_keys: Sequence[str], *, weekly: bool = False
) -> list[str]:
    """The partitions among `partition_keys` whose files read `asset`'s file of `day`.

    Day X's raw minutes (creators, countries, videos, hours) feed the 7-day trends and windows
    of days X..X+6; X's video metadata (and any other file) feeds day X only. Weekly keys (a
    week's Monday) read every day of their week."""
    x = dt.date.fromisoformat(day)
    reach = WINDOW_DAYS if asset.startswith("raw_") and asset != "raw_video_metadata" else 1
    readers = []
    for key in partition_keys:
        k = dt.date.fromisoformat(key)
        first, last = (k, k + dt.timedelta(days=6)) if weekly else (k - dt.timedelta(reach - 1), k)
        if first <= x <= last:
            readers.append(key)
    return readers


def _asset_file(asset_key: dg.AssetKey) -> AssetFile:
    name = asset_key.path[-1]
    try:
        return ASSET_FILES[name]
    except KeyError:
        raise ValueError(f"asset {name!r} has no file in files.ASSET_FILES") from None


def write_documents(
    store: ObjectStore, bucket: str, spec: AssetFile, docs: Mapping[str, object]
) -> dict[str, int]:
    """Write each partition's document; returns counters. (Rolling pointers and the index
    move after the whole window or day is written: `index.publish_window`, `advance_index`.)"""
    written = skipped = size = 0
    for partition_key in sorted(docs):
        body = spec.encode(docs[partition_key])
        size += len(body)
        result = store.put(bucket, spec.key(partition_key), body, cache_control=spec.cache_control)
        written += result.written
        skipped += not result.written
    return {"files_written": written, "files_unchanged": skipped, "bytes": size}


def read_documents(
    store: ObjectStore, bucket: str, spec: AssetFile, partition_keys: list[str]
) -> dict[str, object]:
    """Read the partitions that exist, concurrently (a 7-day window is 7 round trips)."""

    def read(pk: str) -> tuple[str, object | None]:
        key = spec.key(pk)

        def decode(body: bytes) -> object:
            try:
                return spec.decode(body)
            except (ValidationError, ValueError) as exc:
                raise BadStoredFile(
                    f"{bucket}/{key} (day {pk}) is not a valid {spec.name} file: {_reason(exc)}",
                    asset=next((n for n, f in ASSET_FILES.items() if f is spec), spec.name),
                    day=pk,
                ) from None

        if spec.layout == "raw":  # read again by later steps and runs of this process
            found = RAW_FILES.read(store, bucket, key, decode)
            return pk, None if found is None else found[1]
        obj = store.get(bucket, key)
        return pk, None if obj is None else decode(obj.body)

    if len(partition_keys) == 1:
        pairs = [read(partition_keys[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(LOAD_CONCURRENCY, len(partition_keys))) as pool:
            pairs = list(pool.map(read, partition_keys))
    return {pk: doc for pk, doc in pairs if doc is not None}


def _reason(exc: Exception) -> str:
    """The first problem of a validation error, in one line."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        return f"{where}: {first['msg']} ({exc.error_count()} error(s))"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@contextlib.contextmanager
def _storage_failures():
    """Storage errors are one line, and not retried by Dagster: the S3 client has already
    retried transient ones (standard mode), and a step retry would only add minutes."""
    try:
        yield
    except BadStoredFile as exc:
        raise exc.failure() from None
    except StorageError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


class ReportIOManager(dg.ConfigurableIOManager):
    storage: dg.ResourceDependency[StorageResource]

    def handle_output(self, context: dg.OutputContext, obj: Mapping[str, object]) -> None:
        with _storage_failures():
            self._handle_output(context, obj)

    def load_input(self, context: dg.InputContext) -> dict[str, object]:
        with _storage_failures():
            spec = _asset_file(context.asset_key)
            keys = list(context.asset_partition_keys)
            return read_documents(self.storage.get_store(), self.storage.stats_bucket, spec, keys)

    def _handle_output(self, context: dg.OutputContext, obj: Mapping[str, object]) -> None:
        spec = _asset_file(context.asset_key)
        expected = set(context.asset_partition_keys)
        if set(obj) != expected:
            raise ValueError(
                f"{context.asset_key.to_user_string()} returned partitions {sorted(obj)}, "
                f"expected {sorted(expected)}"
            )
        store, bucket = self.storage.get_store(), self.storage.stats_bucket
        counters = write_documents(store, bucket, spec, obj)
        kind = INDEXED_ASSETS.get(context.asset_key.path[-1])
        if kind == "rolling":
            # the window's last file: its three pointers move together, then the index
            counters.update(publish_window(store, bucket, max(obj)))
        elif kind:
            counters["index_moved"] = advance_index(store, bucket, kind, max(obj))
        first = min(obj)
        context.add_output_metadata(
            {
                "key": spec.key(first) if len(obj) == 1 else f"{spec.key(first)} (+{len(obj) - 1})",
                **counters,
            }
        )
