"""Object storage for every file the project writes (contract §3, §4, §6).

`make_store(settings)` gives the backend the configuration asks for: R2 when an endpoint is
set, else the local directory. boto3/dagster_aws are imported only on the R2 path (they cost
over a second), so nothing here imports them.
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
    "put_if_newer",
]


def make_store(settings: Settings) -> ObjectStore:
    """The configured backend: `R2Store` if `settings.storage_kind == "r2"`, else `LocalStore`."""
    if settings.storage_kind == "r2":
        from .r2 import R2Store, make_r2_client  # boto3 only; not dagster_aws

        assert settings.r2_access_key_id and settings.r2_secret_access_key  # load_settings checks
        client = make_r2_client(
            endpoint_url=settings.r2_endpoint_url,
            aws_access_key_id=settings.r2_access_key_id.get_secret_value(),
            aws_secret_access_key=settings.r2_secret_access_key.get_secret_value(),
        )
        return R2Store(client, settings.r2_endpoint_url)
    return LocalStore(settings.local_dir)
