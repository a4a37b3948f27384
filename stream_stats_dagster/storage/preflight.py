"""Check a bucket before a run spends minutes on Cloudflare calls (contract §7: one clear line).

Writes, reads back, lists and deletes a small probe object under `stream-stats/.preflight/`,
which proves the credentials, the endpoint, the bucket and the permissions a run needs, with
the same code paths the run will use.
"""

from __future__ import annotations

import uuid

from .base import ObjectStore, StorageError

PREFLIGHT_PREFIX = "stream-stats/.preflight/"


def check_bucket(store: ObjectStore, bucket: str) -> str | None:
    """None if `bucket` can be written, read, listed and deleted from; else one line why not."""
    token = uuid.uuid4().hex
    key = f"{PREFLIGHT_PREFIX}{token}.json"
    body = b'{"preflight":"' + token.encode() + b'"}\n'
    where = f"bucket {bucket} at {store.describe()}"
    try:
        store.put(bucket, key, body, if_none_match=True)
        try:
            obj = store.get(bucket, key)
            if obj is None or obj.body != body:
                return f"{where} did not return the probe object just written to {key}"
            if key not in store.list(bucket, PREFLIGHT_PREFIX):
                return f"{where} does not list the probe object just written to {key}"
        finally:
            store.delete(bucket, key)
    except StorageError as err:
        return str(err)
    return None
