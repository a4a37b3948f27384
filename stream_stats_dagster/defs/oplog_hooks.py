"""Operation-log records of failed steps (contract §6).

Each operation's files are built by one step (`daily_reports`, `rolling_reports`,
`weekly_reports`), which writes each day's record itself, success or failure, as it
publishes (`publishing`). A step that fails as a whole (the raw extract's Cloudflare error,
a partial selection whose raw days are not stored) is logged here, by a failure hook on
every step of the operation: one record for every day of the run. A run that dies without
reaching a hook is logged by the run-failure sensor, or by `liveness.reap_dead_runs`.
"""

import time
from collections.abc import Sequence

import dagster as dg

from .. import oplog
from ..progress import one_line
from ..runs import FAILED_PARTITIONS
from .storage_resource import StorageResource


def run_partition_keys(
    instance: dg.DagsterInstance, run_id: str, partitions_def: dg.PartitionsDefinition
) -> list[str]:
    """The partition keys a run covered: one key, or a backfill range."""
    run = instance.get_run_by_id(run_id)
    tags = run.tags if run else {}
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    if start and end:
        return list(partitions_def.get_partition_keys_in_range(dg.PartitionKeyRange(start, end)))
    return []


def run_duration(instance: dg.DagsterInstance, run_id: str) -> float:
    stats = instance.get_run_stats(run_id)
    start = stats.start_time or stats.launch_time or time.time()
    return round(time.time() - start, 3)


def error_line(error: BaseException | str | None) -> str:
    """An error's first line (not its traceback), on one line."""
    text = str(error or "run failed").strip()
    return one_line(text.splitlines()[0]) if text else type(error).__name__


def logged_by_step(error: BaseException | None) -> bool:
    """Whether the step that raised `error` wrote its days' records itself."""
    return isinstance(error, dg.Failure) and FAILED_PARTITIONS in (error.metadata or {})


def failure_hook(
    operation: oplog.Operation | Sequence[oplog.Operation],
    partitions_def: dg.PartitionsDefinition,
    source: str,
) -> dg.HookDefinition:
    """The failure hook of every step of an operation (of several, for a step they share):
    one failure record for every day of the run, unless the step failed after writing its
    days' records itself (a report step that published some days and failed others, see
    `publishing`)."""
    operations = [operation] if isinstance(operation, str) else list(operation)

    @dg.failure_hook(name=f"{'_'.join(operations)}_failure_log", required_resource_keys={"storage"})
    def on_failure(context: dg.HookContext) -> None:
        if logged_by_step(context.op_exception):
            return
        storage: StorageResource = context.resources.storage
        store = storage.get_store()
        duration = run_duration(context.instance, context.run_id)
        error = f"{context.op.name}: {error_line(context.op_exception)}"
        keys = run_partition_keys(context.instance, context.run_id, partitions_def)
        for operation_, key in ((o, k) for o in operations for k in keys):
            record = oplog.OperationRecord(
                timestamp=oplog.utc_timestamp(),
                operation=operation_,
                date=key,
                success=False,
                duration=duration,
                details=oplog.OperationDetails(),
                error=error,
                runId=context.run_id,
                source=source,
            )
            oplog.write_record(store, storage.log_bucket, record)

    return on_failure
