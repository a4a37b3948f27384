"""The IO manager: the raw extracts, one JSON file per partition at their contract §4 key.

Raw assets return `{partition_key: RawExtract}` and partitioned inputs always arrive as
`{partition_key: RawExtract}` (the partitions that exist), so one day, a range of days and a
7-day window all go through the same code. Report steps do not go through here: they check
each day before they write it and publish only the days that passed (`defs/publishing.py`).

A stored input file that does not parse or validate does not fail the load: it comes back
apart, in `Loaded.unreadable`, so that the step fails only the days that read it.
"""

from collections.abc import Mapping

import dagster as dg

from ..documents import Loaded, read_documents, write_documents
from ..files import ASSET_FILES, COST_FILES, AssetFile
from ..storage.base import StorageError
from .storage_resource import StorageResource


def _asset_file(asset_key: dg.AssetKey) -> AssetFile:
    name = asset_key.path[-1]
    try:
        return {**ASSET_FILES, **COST_FILES}[name]
    except KeyError:
        raise ValueError(f"asset {name!r} has no file in files.ASSET_FILES") from None


class ReportIOManager(dg.ConfigurableIOManager):
    storage: dg.ResourceDependency[StorageResource]

    def handle_output(self, context: dg.OutputContext, obj: Mapping[str, object]) -> None:
        spec = _asset_file(context.asset_key)
        expected = set(context.asset_partition_keys)
        if set(obj) != expected:
            raise ValueError(
                f"{context.asset_key.to_user_string()} returned partitions {sorted(obj)}, "
                f"expected {sorted(expected)}"
            )
        try:
            store, bucket = self.storage.get_store(), self.storage.bucket_of(spec)
            # the raw facts keep each version they replace (`stream-stats restore-raw`)
            write_documents(store, bucket, spec, obj, keep_revisions=spec.layout == "raw")
        except StorageError as exc:  # one line; the S3 client has already retried
            raise dg.Failure(description=str(exc), allow_retries=False) from None

    def load_input(self, context: dg.InputContext) -> Loaded:
        spec = _asset_file(context.asset_key)
        keys = list(context.asset_partition_keys)
        try:
            return read_documents(
                self.storage.get_store(), self.storage.bucket_of(spec), spec, keys, tolerant=True
            )
        except StorageError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
