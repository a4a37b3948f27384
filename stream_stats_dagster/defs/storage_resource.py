"""The storage resource: one object store (local directory or R2) and the bucket names.

Assets, the IO manager, the metadata cache and the operation log all reach storage
through this resource, so switching local <-> R2 happens in exactly one place.
"""

from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from ..config import DEFAULT_LOCAL_DIR, DEFAULT_LOG_BUCKET, DEFAULT_STATS_BUCKET
from ..runs import process_tags
from ..storage import ObjectStore, open_store


class StorageResource(dg.ConfigurableResource):
    """`kind="local"` stores `<local_dir>/<bucket>/<key>`; `kind="r2"` talks S3 to R2."""

    kind: str = "local"
    local_dir: str = DEFAULT_LOCAL_DIR
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    stats_bucket: str = DEFAULT_STATS_BUCKET
    log_bucket: str = DEFAULT_LOG_BUCKET
    private_bucket: str | None = None  # None: the stats bucket

    @property
    def private(self) -> str:
        """The bucket of everything that is not a report for readers (`PRIVATE_BUCKET`)."""
        return self.private_bucket or self.stats_bucket

    def bucket_of(self, file: Any) -> str:
        """The bucket an asset file (`files.AssetFile`) lives in."""
        return self.private if file.private else self.stats_bucket

    _store: ObjectStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Tag the run with the host and pid executing it (every run uses storage), so that
        `runs.reap_dead_runs` can tell when its process is gone. The CLI tags its runs at
        launch; this covers the runs the daemon launches."""
        run = context.run
        if context.instance is None or run is None:
            return  # outside a run (a sensor, a script)
        tags = process_tags()
        if any(run.tags.get(k) != v for k, v in tags.items()):
            context.instance.add_run_tags(run.run_id, tags)

    def get_store(self) -> ObjectStore:
        if self._store is None:
            self._store = self._build_store()
        return self._store

    def _build_store(self) -> ObjectStore:
        return open_store(
            local_dir=self.local_dir,
            endpoint_url=self.endpoint_url if self.kind == "r2" else None,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
        )
