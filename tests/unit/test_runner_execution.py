"""How the CLI executes a run: outputs are not kept alive, the collector is restored."""

from __future__ import annotations

import gc
import weakref

import dagster as dg

from stream_stats_dagster.gc_tuning import RUN_THRESHOLDS, fewer_collections
from stream_stats_dagster.runner import execute_without_output_capture, partition_tags


class Document:
    """Stands for a day's documents: something a test can hold a weak reference to."""


DAYS = dg.DailyPartitionsDefinition(start_date="2025-03-01")
alive: list[weakref.ref] = []


@dg.asset(partitions_def=DAYS, io_manager_key="discard")
def produced() -> Document:
    doc = Document()
    alive.append(weakref.ref(doc))
    return doc


@dg.asset(partitions_def=DAYS, io_manager_key="discard")
def skipped() -> Document:
    raise AssertionError("not in the asset selection")


class DiscardIOManager(dg.IOManager):
    def handle_output(self, context, obj):  # the real IO manager writes it to storage
        pass

    def load_input(self, context):
        raise AssertionError("nothing loads")


JOB = dg.Definitions(
    assets=[produced, skipped],
    jobs=[dg.define_asset_job("job", selection=[produced, skipped])],
    resources={"discard": DiscardIOManager()},
    executor=dg.in_process_executor,  # as the project's Definitions
).resolve_job_def("job")


def test_a_run_keeps_no_step_output_alive_and_records_its_partition():
    alive.clear()
    with dg.DagsterInstance.ephemeral() as instance:
        result = execute_without_output_capture(
            JOB,
            instance,
            tags=partition_tags(["2025-03-02"]),
            asset_selection={dg.AssetKey("produced")},
            run_config=None,
        )
        assert result.success
        gc.collect()
        assert len(alive) == 1 and alive[0]() is None  # execute_in_process would still hold it
        run = instance.get_run_by_id(result.run_id)
        assert run.tags["dagster/partition"] == "2025-03-02"
        assert run.asset_selection == {dg.AssetKey("produced")}
        materialized = instance.fetch_materializations(dg.AssetKey("produced"), limit=5)
        assert [r.partition_key for r in materialized.records] == ["2025-03-02"]


def test_partition_tags_for_one_day_and_a_range():
    assert partition_tags(["2025-03-02"]) == {"dagster/partition": "2025-03-02"}
    assert partition_tags(["2025-03-02", "2025-03-03", "2025-03-04"]) == {
        "dagster/asset_partition_range_start": "2025-03-02",
        "dagster/asset_partition_range_end": "2025-03-04",
    }


def test_fewer_collections_restores_the_collector_even_on_error():
    before = gc.get_threshold()
    try:
        with fewer_collections():
            assert gc.get_threshold() == RUN_THRESHOLDS
            assert gc.get_freeze_count() > 0
            raise RuntimeError("step failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
