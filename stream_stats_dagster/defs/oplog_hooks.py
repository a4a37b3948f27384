"""Operation-log hooks: each collection writes its record to LOG_BUCKET (SPEC §6).

Each operation's files are built by one step (`daily_reports`, `rolling_reports`,
`weekly_reports`): its success hook logs a success once the step has written its summary,
and a failure hook on every step of the operation (the raw extract's too) logs the
failure: for every day of the run, or, when the step failed on an invalid stored file, for the
days that read that file only. A run that dies without reaching a hook is logged by the
run-failure sensor, or by `liveness.reap_dead_runs`.
"""

import time
from collections.abc import Mapping

import dagster as dg

from .. import oplog
from ..storage.io_manager import bad_file_named, readers_of
from ..storage.resource import StorageResource


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


def one_line(error: BaseException | str | None) -> str:
    text = str(error or "run failed").strip()
    return text.splitlines()[0] if text else type(error).__name__


def _metadata_json(metadata: Mapping[str, object], key: str) -> dict:
    value = metadata.get(key)
    return getattr(value, "data", value) or {}


def operation_hooks(
    operation: oplog.Operation, partitions_def: dg.PartitionsDefinition, source: str
) -> tuple[dg.HookDefinition, dg.HookDefinition]:
    """(failure hook for every asset of the operation, success hook for its terminal asset)."""

    def write(
        context: dg.HookContext,
        success: bool,
        details: Mapping[str, dict],
        error: str | None,
        bad_file: tuple[str, str] | None = None,
    ):
        storage: StorageResource = context.resources.storage
        store = storage.get_store()
        duration = run_duration(context.instance, context.run_id)
        keys = run_partition_keys(context.instance, context.run_id, partitions_def)
        if bad_file is not None:
            # Only the days that read the invalid file failed because of it (`collect` runs
            # the others again on their own, and those runs log them).
            weekly = operation == oplog.COLLECT_WEEKLY
            keys = readers_of(*bad_file, keys, weekly=weekly)
        for key in keys:
            record = oplog.OperationRecord(
                timestamp=oplog.utc_timestamp(),
                operation=operation,
                date=key,
                success=success,
                duration=duration,
                details=oplog.OperationDetails(**details.get(key, {})),
                error=error,
                runId=context.run_id,
                source=source,
            )
            oplog.write_record(store, storage.log_bucket, record)

    @dg.failure_hook(name=f"{operation}_failure_log", required_resource_keys={"storage"})
    def on_failure(context: dg.HookContext) -> None:
        error = one_line(context.op_exception)
        write(context, False, {}, f"{context.op.name}: {error}", bad_file_named(error))

    @dg.success_hook(name=f"{operation}_success_log", required_resource_keys={"storage"})
    def on_success(context: dg.HookContext) -> None:
        """Only a step that built the operation's summary completed the operation (a step
        subset to single files, e.g. `dg launch --assets creators`, logs nothing)."""
        for metadata in context.op_output_metadata.values():
            details = _metadata_json(metadata, "oplog_details")
            if details:
                write(context, True, details, None)
                return

    return on_failure, on_success
