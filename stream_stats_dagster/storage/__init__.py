"""Object storage for every file the project writes (contract §3, §4, §6): keys and bytes.

`open_store` is the one place a store is built: R2 when an endpoint is given, else the local
directory (`make_store(settings)` for the configuration's). boto3 is imported only on the
R2 path (it costs over a second).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import (
    JSON_CONTENT_TYPE,
    AccessDenied,
    BucketNotFound,
    ObjectStore,
    PreconditionFailed,
    PutResult,
    StorageError,
    StorageUnavailable,
    StoredObject,
    md5_hex,
    put_if_newer,
)
from .local import LocalStore

if TYPE_CHECKING:
    from stream_stats_dagster.config import Settings

__all__ = [
    "JSON_CONTENT_TYPE",
    "AccessDenied",
    "BucketNotFound",
    "LocalStore",
    "ObjectStore",
    "PreconditionFailed",
    "PutResult",
    "StorageError",
    "StorageUnavailable",
    "StoredObject",
    "make_store",
    "md5_hex",
    "open_store",
    "put_if_newer",
]


def open_store(
    *,
    local_dir: str,
    endpoint_url: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
) -> ObjectStore:
    """`R2Store` when `endpoint_url` is set (with its keys), else `LocalStore(local_dir)`."""
    if endpoint_url:
        from .r2 import R2Store, make_r2_client

        client = make_r2_client(
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
        )
        return R2Store(client, endpoint_url)
    return LocalStore(local_dir)


def make_store(settings: Settings) -> ObjectStore:
    """The configured backend (`open_store` with the settings' R2 endpoint and keys)."""
    key_id, secret = settings.r2_access_key_id, settings.r2_secret_access_key
    return open_store(
        local_dir=settings.local_dir,
        endpoint_url=settings.r2_endpoint_url,
        access_key_id=key_id.get_secret_value() if key_id else None,
        secret_access_key=secret.get_secret_value() if secret else None,
    )
