"""`bench/alone.py` is the product's daily job with no work in it: the same steps, asset
outputs, checks and inputs, so that its run stores the same kinds and number of Dagster
events. If the product's job changes shape, so does this one; a run of it succeeds."""

from __future__ import annotations

import dagster as dg

from bench import alone
from stream_stats_dagster.definitions import run_definitions
from stream_stats_dagster.defs.jobs import DAILY_JOB


def _shape(job: dg.JobDefinition) -> dict[str, tuple]:
    return {
        assets_def.op.name: (
            sorted(assets_def.keys),
            sorted((s.asset_key, s.name, s.blocking) for s in assets_def.check_specs),
            inputs,
            assets_def.partitions_def,
        )
        for assets_def, inputs in alone.step_shapes(job)
    }


def test_the_no_work_job_has_the_daily_jobs_shape(env):
    product = run_definitions().resolve_job_def(DAILY_JOB)
    no_work = alone.alone_definitions().resolve_job_def(alone.JOB)
    shape = _shape(product)
    assert _shape(no_work) == shape
    assert len(shape) == 5 and sum(len(s[1]) for s in shape.values()) == 39


def test_a_run_of_it_records_each_materialization_and_check(env):
    job = alone.alone_definitions().resolve_job_def(alone.JOB)
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, partition_key="2025-03-10")
        assert result.success
        checks = result.get_asset_check_evaluations()
        materialized = result.get_asset_materialization_events()
    assert len(materialized) == 15 and len(checks) == 39
    assert {c.partition for c in checks} == {"2025-03-10"} and all(c.passed for c in checks)
