"""Dagster alone: what a run of the warm day's shape costs with no work in it.

    python -m bench.alone '{"argv": ["collect", "--date", "2025-06-30"]}'

A job with `daily_stats_job`'s steps, asset outputs, check specs and inputs, read from the
project's definitions, but with compute that does nothing: no API call, no file, no frame.
Each step records one `AssetCheckEvaluation` per check and yields one `Output` per asset,
as the real steps do; the IO manager stores nothing and loads a placeholder. It runs one
partition through `dg.execute_job` (as `stream-stats collect` does) on the Dagster instance
in `DAGSTER_HOME`. `bench.run` gives it a copy of the warm case's instance, so its run
history is the one the product's run saw.

Its in-run time is what Dagster itself spends on this graph shape (creating the run and its
planned events, step and IO events, storing every event in the instance) and a lower bound
for the product's in-run time; its process time adds the imports and the definitions.
"""

from __future__ import annotations

import gc
import inspect
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg

from bench.common import run_case

JOB = "alone_job"


class NoStore(dg.IOManager):
    """Stores nothing; every input is a placeholder."""

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        pass

    def load_input(self, context: dg.InputContext) -> Any:
        return None


def step_shapes(job: dg.JobDefinition) -> list[tuple[dg.AssetsDefinition, list[dg.AssetKey]]]:
    """Each executable step of `job`: its assets definition and the asset keys it loads."""
    graph = job.asset_layer.asset_graph
    steps: dict[str, tuple[dg.AssetsDefinition, list[dg.AssetKey]]] = {}
    for key in graph.get_all_asset_keys():
        assets_def = graph.get(key).assets_def
        if assets_def.is_executable and assets_def.op.name not in steps:
            inputs = sorted(set(assets_def.dependency_keys) - set(assets_def.keys))
            steps[assets_def.op.name] = (assets_def, inputs)
    return list(steps.values())


def _no_work(assets_def: dg.AssetsDefinition, inputs: list[dg.AssetKey]) -> Callable:
    """The step's compute without its work: one check evaluation per check of the step's
    partition, one `Output` per asset. Its signature is what Dagster reads the inputs from:
    (context, <one argument per input>)."""
    keys, checks = sorted(assets_def.keys), list(assets_def.check_specs)

    def compute(context: dg.AssetExecutionContext, **_inputs: Any) -> Iterator:
        for spec in checks:
            context.log_event(
                dg.AssetCheckEvaluation(
                    asset_key=spec.asset_key,
                    check_name=spec.name,
                    passed=True,
                    partition=context.partition_key,
                )
            )
        for key in keys:
            yield dg.Output(None, output_name=_arg(key))

    params = [inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(_arg(k), inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in inputs]
    compute.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    compute.__name__ = assets_def.op.name
    return compute


def _arg(key: dg.AssetKey) -> str:
    return "_".join(key.path)


def alone_assets(job: dg.JobDefinition) -> list[dg.AssetsDefinition]:
    """The job's steps again, with the same outputs, checks and inputs, and no work."""
    return [
        dg.multi_asset(
            name=assets_def.op.name,
            outs={_arg(k): dg.AssetOut(key=k) for k in sorted(assets_def.keys)},
            ins={_arg(k): dg.AssetIn(k) for k in inputs},
            check_specs=[
                dg.AssetCheckSpec(
                    s.name, asset=s.asset_key, blocking=s.blocking, partitions_def=s.partitions_def
                )
                for s in assets_def.check_specs
            ],
            partitions_def=assets_def.partitions_def,
            can_subset=assets_def.can_subset,
        )(_no_work(assets_def, inputs))
        for assets_def, inputs in step_shapes(job)
    ]


def alone_definitions() -> dg.Definitions:
    from stream_stats_dagster.definitions import run_definitions
    from stream_stats_dagster.defs.jobs import DAILY_JOB

    assets = alone_assets(run_definitions().resolve_job_def(DAILY_JOB))
    return dg.Definitions(
        assets=assets,
        jobs=[dg.define_asset_job(JOB, selection=[k for a in assets for k in a.keys])],
        resources={"io_manager": NoStore()},
        executor=dg.in_process_executor,
    )


_DEFINITIONS: dg.Definitions | None = None


def alone_job() -> dg.JobDefinition:
    """The job, rebuilt in the process that executes it (`dg.build_reconstructable_job`)."""
    return (_DEFINITIONS or alone_definitions()).resolve_job_def(JOB)


def prepare(spec: dict[str, Any]) -> dict[str, Any]:
    """The definitions (as the product's `prepare` imports them), before the timer starts,
    and the heap frozen after them as the product's CLI freezes it
    (the CLI freezes its heap too), so that both processes exit alike."""
    global _DEFINITIONS
    _DEFINITIONS = alone_definitions()
    gc.freeze()
    return {"day": spec["argv"][spec["argv"].index("--date") + 1]}


def work(context: dict[str, Any]) -> dict[str, Any]:
    job = dg.build_reconstructable_job("bench.alone", "alone_job")
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(job, instance, tags={"dagster/partition": context["day"]})
        events = len(instance.all_logs(result.run_id))
        steps = len(step_shapes(alone_job()))
    assert result.success, "the no-work run failed"
    return {"rc": 0, "dagster_events": events, "steps": steps}


if __name__ == "__main__":
    run_case(json.loads(sys.argv[1]), prepare, work)
