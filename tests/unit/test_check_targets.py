"""The one private Dagster class the project uses (`defs/check_targets.py`): fails as soon as
Dagster moves or reshapes it, so the exception cannot rot unseen."""

from __future__ import annotations

import inspect

import dagster as dg
from dagster._core.definitions.asset_checks import asset_check_result

from stream_stats_dagster.defs.check_targets import TargetMaterialization, latest_materializations


def test_it_is_the_class_dagster_itself_links_check_results_with():
    assert asset_check_result.AssetCheckEvaluationTargetMaterializationData is TargetMaterialization
    target = TargetMaterialization(storage_id=7, run_id="r", timestamp=1.5)
    assert (target.storage_id, target.run_id, target.timestamp) == (7, "r", 1.5)
    assert "target_materialization_data" in inspect.signature(dg.AssetCheckEvaluation).parameters


def test_each_partition_points_at_its_latest_materialization():
    daily = dg.DailyPartitionsDefinition(start_date="2025-03-01")

    @dg.asset(partitions_def=daily)
    def a1() -> None:
        return None

    with dg.instance_for_test() as instance:
        for key in ("2025-03-01", "2025-03-02", "2025-03-01"):
            dg.materialize([a1], instance=instance, partition_key=key)
        targets = latest_materializations(
            instance, "a1", ["2025-03-01", "2025-03-02", "2025-03-03"]
        )
        assert sorted(targets) == ["2025-03-01", "2025-03-02"]
        first = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("a1"), asset_partitions=["2025-03-01"]),
            limit=1,
        ).records[0]
        assert targets["2025-03-01"].storage_id == first.storage_id
        assert targets["2025-03-01"].storage_id > targets["2025-03-02"].storage_id
        evaluation = dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey("a1"),
            check_name="c",
            passed=True,
            partition="2025-03-01",
            target_materialization_data=targets["2025-03-01"],
        )
        assert evaluation.target_materialization_data.run_id == first.run_id
