"""Freshness: is yesterday's summary there by 01:00 report time, last week's by Monday 02:00?

Dagster's own time-partition freshness checks (WARN), evaluated by their sensor every few
minutes: a late file shows as a failed check on the asset's page. `late_files_log` turns
each late partition into one operation-log record in LOG_BUCKET (contract §6), written once: its
key holds the asset and the day instead of a run id.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import dagster as dg

from ... import oplog
from ...config import Settings
from ...dates import monday_of
from ..settings import SENSOR_STATUS, SETTINGS
from ..storage_resource import StorageResource

DAILY_DEADLINE = "0 1 * * *"  # yesterday's daily files by 01:00 report time
WEEKLY_DEADLINE = "0 2 * * 1"  # last week's files by Monday 02:00
FRESHNESS_CHECK = "freshness_check"  # the name Dagster gives these checks
LATE = {"summary": oplog.COLLECT_DAILY, "weekly_summary": oplog.COLLECT_WEEKLY}


def deadline_checks(
    deadlines: Mapping[str, str], sensor_name: str
) -> tuple[list[dg.AssetChecksDefinition], dg.SensorDefinition]:
    """Dagster's time-partition freshness check (WARN) of each asset by its deadline cron in
    the report time zone, and the sensor that evaluates them every five minutes."""
    with warnings.catch_warnings():
        # Dagster calls these superseded by `FreshnessPolicy`, which shows a freshness state,
        # not a check (and looks only at the latest materialization of any day, with the
        # daemon): the WARN check row per late file is what operators asked for.
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        checks = [
            check
            for asset, deadline in deadlines.items()
            for check in dg.build_time_partition_freshness_checks(
                assets=[dg.AssetKey(asset)], deadline_cron=deadline, timezone=SETTINGS.timezone
            )
        ]
        sensor = dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name=sensor_name,
            default_status=SENSOR_STATUS,
            minimum_interval_seconds=300,
        )
    return checks, sensor


DEADLINES = {"summary": DAILY_DEADLINE, "weekly_summary": WEEKLY_DEADLINE}
freshness_checks, freshness_checks_sensor = deadline_checks(DEADLINES, "freshness_checks_sensor")


@dg.sensor(
    name="late_files_log",
    minimum_interval_seconds=300,
    default_status=SENSOR_STATUS,
    description="One operation-log record for each daily or weekly file that is late.",
)
def late_files_log(context: dg.SensorEvaluationContext, storage: StorageResource):
    written = late_records(context.instance, storage, SETTINGS)
    return dg.SkipReason(f"{written} late file(s) logged" if written else "nothing late")


def late_partition(asset: str, today: dt.date) -> dt.date:
    """The partition a freshness evaluation on `today` (report time) found late: yesterday,
    or for the weekly summary the week before this one."""
    if asset == "weekly_summary":
        return monday_of(today) - dt.timedelta(days=7)
    return today - dt.timedelta(days=1)


def late_records(
    instance: dg.DagsterInstance,
    storage: StorageResource,
    settings: Settings,
) -> int:
    """Write the record of each asset whose latest freshness evaluation failed, once."""
    store, bucket = storage.get_store(), storage.log_bucket
    written = 0
    for asset, operation in LATE.items():
        key = dg.AssetCheckKey(dg.AssetKey(asset), FRESHNESS_CHECK)
        record = instance.get_latest_asset_check_evaluation_record(key)
        evaluation = record.evaluation if record else None
        # A run that planned the check and failed before evaluating it (a UI materialization
        # of `summary` with all its checks) leaves a planned record: nothing was judged late.
        if not isinstance(evaluation, dg.AssetCheckEvaluation) or evaluation.passed:
            continue
        when = dt.datetime.fromtimestamp(record.create_timestamp, ZoneInfo(settings.timezone))  # type: ignore[union-attr]
        day = late_partition(asset, when.date())
        if day < settings.start_date:
            continue
        run_id = f"late-{asset}"
        if oplog.read_record(store, bucket, operation, day.isoformat(), run_id) is not None:
            continue
        error = f"{asset} of {day} is late: not written by its deadline (freshness check)"
        record = oplog.failure_record(operation, day.isoformat(), run_id, error, settings.source)
        oplog.write_record(store, bucket, record)
        written += 1
    return written
