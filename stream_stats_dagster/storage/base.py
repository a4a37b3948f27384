"""The object-storage interface every persisted file goes through (contract §4, §6, §7).

One small interface with two backends (a local directory and R2 over the S3 API) so that the
same IO manager, rolling pointer and metadata cache code runs in tests, in local demos and in
production. The semantics are R2's: an ETag is the hex MD5 of the body (single-part PUTs
only, which is all this project does), conditional PUTs fail with `PreconditionFailed`, and a
reader sees either the complete old or the complete new object, never a part.

Errors are `StorageError`s whose message is one line naming the endpoint or directory and the
bucket, and never a secret, so that they can be shown to the user as they are.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

JSON_CONTENT_TYPE = "application/json"


class StorageError(Exception):
    """A storage operation failed; `str(err)` is one line without secrets."""


class PreconditionFailed(StorageError):
    """A conditional PUT's condition did not hold (HTTP 412): someone else wrote first."""


class BucketNotFound(StorageError):
    """The bucket does not exist (R2 never creates buckets on its own here)."""


class AccessDenied(StorageError):
    """The credentials were refused (401/403), or the local directory is not writable."""


class StorageUnavailable(StorageError):
    """The endpoint could not be reached, timed out or kept answering 5xx after retries.

    The only subclass that is worth retrying later; the others need a human.
    """


@dataclass(frozen=True, slots=True)
class StoredObject:
    body: bytes
    etag: str  # hex MD5 of body, without quotes


@dataclass(frozen=True, slots=True)
class PutResult:
    etag: str  # the object's ETag after the call (hex MD5 of the body)
    written: bool  # False when the stored bytes were already identical and the PUT was skipped


def md5_hex(body: bytes) -> str:
    """The ETag R2 and S3 give a single-part object with these bytes."""
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


@runtime_checkable
class ObjectStore(Protocol):
    """Buckets of keyed byte objects (R2 semantics; see the module docstring).

    `put` skips a PUT whose bytes equal the stored object's (so re-materializing the same
    partition costs one HEAD and changes nothing, not even the modification time) and then
    returns `written=False`. The skip applies to unconditional PUTs and to `if_match` PUTs whose
    condition holds; `if_none_match=True` on an existing key always fails.
    """

    def get(self, bucket: str, key: str) -> StoredObject | None:
        """The object's bytes and ETag, or None if the key does not exist."""
        ...

    def head(self, bucket: str, key: str) -> str | None:
        """The object's ETag, or None if the key does not exist."""
        ...

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        content_type: str = JSON_CONTENT_TYPE,
        cache_control: str | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> PutResult:
        """Store `body` at `key` atomically.

        `if_match=etag`: only if the current object has that ETag (absent key fails);
        `if_none_match=True`: only if the key does not exist. A failed condition raises
        `PreconditionFailed`.
        """
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Remove the key; a missing key is not an error."""
        ...

    def list(self, bucket: str, prefix: str) -> list[str]:
        """Every key starting with `prefix` (a plain string prefix), sorted."""
        ...

    def describe(self) -> str:
        """One line for logs: "local directory /abs/dir" or "R2 https://…" (no secrets)."""
        ...


def update_object(
    store: ObjectStore,
    bucket: str,
    key: str,
    update: Callable[[bytes | None], bytes | None],
    *,
    retries: int = 5,
    content_type: str = JSON_CONTENT_TYPE,
    cache_control: str | None = None,
) -> bool:
    """Read-modify-write of one object that can never lose a concurrent update.

    Reads the current object, asks `update(current_body_or_None)` for the new body (None:
    leave it as it is), and writes conditionally on exactly what was read (`if_match=etag`,
    or `if_none_match` when absent). If another writer got in between, the PUT fails with
    412 and `update` runs again on the new current object. Returns True if this call wrote.
    Raises `PreconditionFailed` if it lost the race more than `retries` times in a row (each
    loss means another writer made progress).
    """
    for attempt in range(retries + 1):
        current = store.get(bucket, key)
        body = update(None if current is None else current.body)
        if body is None:
            return False
        try:
            result = store.put(
                bucket,
                key,
                body,
                content_type=content_type,
                cache_control=cache_control,
                if_match=None if current is None else current.etag,
                if_none_match=current is None,
            )
            return result.written
        except PreconditionFailed:
            if attempt == retries:
                raise PreconditionFailed(
                    f"{key} in bucket {bucket} kept changing under {retries + 1} conditional "
                    f"writes at {store.describe()}"
                ) from None
            # Small jittered pause so that a crowd of writers does not retry in lockstep.
            time.sleep(random.uniform(0, 0.01 * (2**attempt)))
    raise AssertionError("unreachable")  # pragma: no cover


def put_if_newer(
    store: ObjectStore,
    bucket: str,
    key: str,
    body: bytes,
    *,
    is_newer: Callable[[bytes | None], bool],
    retries: int = 5,
    content_type: str = JSON_CONTENT_TYPE,
    cache_control: str | None = None,
) -> bool:
    """Move a pointer object forward only (contract §4's `rolling/last7days-*`).

    `is_newer(current_body_or_None)` decides whether `body` replaces the current object; it
    should return True for an equal position too (a window with the same end date replaces
    the pointer with late data); identical bytes are then skipped by `put`. Every write is
    conditional on the object it replaces, so concurrent writers can never move the pointer
    backwards. Returns True if this call wrote the object.
    """
    return update_object(
        store,
        bucket,
        key,
        lambda current: body if is_newer(current) else None,
        retries=retries,
        content_type=content_type,
        cache_control=cache_control,
    )
