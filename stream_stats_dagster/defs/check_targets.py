"""Which materialization a partition's check evaluation judged: the one exception to the
public-API rule, kept in this module alone.

Why: the UI counts a day's check only when its evaluation points at that day's latest
materialization (the "target"). Dagster fills that pointer in itself only when a step runs
one partition and yields an `AssetCheckResult`; a step over a range of days records one
evaluation with no day at all. Our report steps check and publish each day of a range on its
own (`publishing.py`), so they log one `AssetCheckEvaluation` per (check, day) and must give
it the target themselves. The pointer's class is not exported by `dagster`:
`AssetCheckEvaluationTargetMaterializationData` (storage id, run id, timestamp of the
materialization), built here exactly as Dagster builds it for a single-partition step
(`AssetCheckResult._get_partitioned_target_materialization_data` in 1.13).

`tests/unit/test_check_targets.py` fails when Dagster moves or reshapes the class, and the
end-to-end tests read each day's check status through the webserver's GraphQL.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (  # the exception
    AssetCheckEvaluationTargetMaterializationData as TargetMaterialization,
)

__all__ = ["TargetMaterialization", "latest_materializations"]


def latest_materializations(
    instance: dg.DagsterInstance, asset: str, partitions: Iterable[str]
) -> dict[str, TargetMaterialization]:
    """The latest materialization of each of `asset`'s `partitions` that has one, as the
    target a check evaluation of that partition points at (one query per partition, as
    Dagster does for a single-partition step)."""
    latest = {}
    for partition in sorted(set(partitions)):
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]),
            limit=1,
        ).records
        if records:
            r = records[0]
            latest[partition] = TargetMaterialization(
                storage_id=r.storage_id, run_id=r.run_id, timestamp=r.timestamp
            )
    return latest
