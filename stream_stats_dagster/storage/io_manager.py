"""The IO manager: every asset is one JSON file per partition at its SPEC §4 key.

Assets always return `{partition_key: value}` and always receive partitioned inputs as
`{partition_key: value}` (only the partitions that exist), so single partitions, ranges of
days and 7-day windows all go through the same code. Values are raw extracts
(`facts.RawExtract` frames) or report documents; `files.AssetFile` turns them into bytes and
back. Rolling files also move the `rolling/last7days-*` pointer, but only forward.
"""

import contextlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
from pydantic import ValidationError

from ..files import ASSET_FILES, CACHE_CONTROL, INDEXED_ASSETS, AssetFile
from ..index import advance_index
from . import jsonbytes
from .base import ObjectStore, StorageError, put_if_newer
from .resource import StorageResource

LOAD_CONCURRENCY = 8


class BadStoredFile(StorageError):
    """A stored file that does not parse or does not validate against its model."""


def _asset_file(asset_key: dg.AssetKey) -> AssetFile:
    name = asset_key.path[-1]
    try:
        return ASSET_FILES[name]
    except KeyError:
        raise ValueError(f"asset {name!r} has no file in files.ASSET_FILES") from None


def rolling_is_newer(end: str):
    """Only-forward rule of the rolling pointer: the same end date replaces, older never does."""

    def is_newer(current: bytes | None) -> bool:
        return current is None or jsonbytes.loads(current).get("endDate", "") <= end

    return is_newer


def write_documents(
    store: ObjectStore, bucket: str, spec: AssetFile, docs: Mapping[str, object]
) -> dict[str, int]:
    """Write each partition's document (and move the rolling pointer); returns counters."""
    written = skipped = moved = size = 0
    for partition_key in sorted(docs):
        doc = docs[partition_key]
        body = spec.encode(doc)
        size += len(body)
        result = store.put(bucket, spec.key(partition_key), body, cache_control=spec.cache_control)
        written += result.written
        skipped += not result.written
        if spec.pointer_key:
            moved += put_if_newer(
                store,
                bucket,
                spec.pointer_key,
                body,
                is_newer=rolling_is_newer(partition_key),
                cache_control=CACHE_CONTROL["pointer"],
            )
    return {
        "files_written": written,
        "files_unchanged": skipped,
        "bytes": size,
        "pointer_moved": moved,
    }


def read_documents(
    store: ObjectStore, bucket: str, spec: AssetFile, partition_keys: list[str]
) -> dict[str, object]:
    """Read the partitions that exist, concurrently (a 7-day window is 7 round trips)."""

    def read(pk: str) -> tuple[str, object | None]:
        key = spec.key(pk)
        obj = store.get(bucket, key)
        if obj is None:
            return pk, None
        try:
            return pk, spec.decode(obj.body)
        except (ValidationError, ValueError) as exc:
            raise BadStoredFile(
                f"{bucket}/{key} (day {pk}) is not a valid {spec.name} file: {_reason(exc)}"
            ) from None

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
        if kind:
            counters["index_moved"] = advance_index(store, bucket, kind, max(obj))
        first = min(obj)
        context.add_output_metadata(
            {
                "key": spec.key(first) if len(obj) == 1 else f"{spec.key(first)} (+{len(obj) - 1})",
                **counters,
            }
        )
