"""Sensors: late data, its follow-up re-derivations, and failed runs' operation logs.

Late data: Cloudflare's recent numbers can still change after a day ends. Every few hours
one cheap request (the hourly series of the last 72 hours) is compared with the stored
hourly extracts; each day whose totals moved beyond a tolerance is re-collected once per
change (the run key holds the new totals). When that run succeeds, a follow-up rebuilds
what depends on the day: the next six days' trends and rolling windows, and its week.
Sensors never wait: a budget wait would raise instead, and the tick is retried later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import dagster as dg

from ... import oplog
from ...cloudflare.client import ClientLimits
from ...cloudflare.errors import CloudflareError
from ...config import Settings
from ...dates import LEAD_DAYS, ReportDay, days_between, monday_of
from ...facts import beyond_tolerance
from ...files import ASSET_FILES
from ...reports.daily import day_totals
from ...runs import reap_dead_runs
from ..cloudflare_resource import CloudflareResource
from ..jobs import (
    DAILY_JOB,
    REBUILD_DAILY_JOB,
    WEEKLY_JOB,
    daily_stats_job,
    rebuild_daily_job,
    weekly_stats_job,
)
from ..oplog_hooks import error_line, run_partition_keys
from ..partitions import DAILY_PARTITIONS, WEEKLY_PARTITIONS
from ..settings import SENSOR_STATUS, SETTINGS
from ..storage_resource import StorageResource

LATE_DATA_TAG = "stream_stats/late_data_day"
LATE_DATA_INTERVAL_SECONDS = 3 * 3600
LOOKBACK_DAYS = 3  # 72 hours
DEAD_RUN_INTERVAL_SECONDS = 60  # how soon a run killed outside a daemon's watch is failed

# A sensor tick must not sleep: one attempt, no budget waits (the next tick tries again).
NO_WAITING = ClientLimits(max_attempts=1, max_wait_seconds=0)

OPERATION_OF_LAYOUT = {
    "raw": oplog.COLLECT_DAILY,
    "daily": oplog.COLLECT_DAILY,
    "rolling": oplog.UPDATE_ROLLING,
    "weekly": oplog.COLLECT_WEEKLY,
}


def utc_now() -> dt.datetime:
    """The sensors' clock (tests replace it)."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class LateDay:
    day: dt.date
    stored: tuple[int, int]  # minutes, views as stored in the raw hourly extract
    fresh: tuple[int, int]  # minutes, views Cloudflare reports now

    @property
    def run_key(self) -> str:
        return f"late-data:{self.day}:{self.fresh[0]}:{self.fresh[1]}"

    @property
    def shrank(self) -> bool:
        """Cloudflare now answers fewer minutes than are stored: not late data (which only
        adds), and a re-collect would be refused (`facts_never_shrink`)."""
        return self.fresh[0] < self.stored[0] and beyond_tolerance(self.stored[0], self.fresh[0])

    def warning(self) -> str:
        return (
            f"{self.day}: Cloudflare now reports {self.fresh[0]:,} minutes, fewer than the "
            f"stored {self.stored[0]:,}: not re-collected (late data only adds; "
            f"stream-stats collect --date {self.day} --accept-shrink replaces the stored facts)"
        )


def changed_beyond_tolerance(stored: tuple[int, int], fresh: tuple[int, int]) -> bool:
    return any(beyond_tolerance(s, f) for s, f in zip(stored, fresh, strict=True))


def warn_once(late: LateDay, store, bucket: str, source: str) -> bool:
    """One warning record in the operation log for a day whose totals shrank, written once
    per answer (its key holds the answer's totals); True if written now."""
    run_id = f"shrank-{late.fresh[0]}-{late.fresh[1]}"
    day = late.day.isoformat()
    if oplog.read_record(store, bucket, oplog.COLLECT_DAILY, day, run_id) is not None:
        return False
    record = oplog.failure_record(oplog.COLLECT_DAILY, day, run_id, late.warning(), source)
    oplog.write_record(store, bucket, record.model_copy(update={"level": "warning"}))
    return True


def recent_days(now: dt.datetime, settings: Settings) -> list[dt.date]:
    """Complete report days in the last 72 hours, not before the start date."""
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    first = max(today - dt.timedelta(days=LOOKBACK_DAYS), settings.start_date)
    last = today - dt.timedelta(days=1)
    return days_between(first, last) if first <= last else []


def find_late_days(
    now: dt.datetime, settings: Settings, client, store, bucket: str
) -> list[LateDay]:
    """Days whose Cloudflare totals differ from the stored ones (days never collected are
    left to the daily schedule)."""
    days = recent_days(now, settings)
    stored: dict[dt.date, tuple[int, int]] = {}
    for day in days:
        obj = store.get(bucket, ASSET_FILES["raw_hourly_minutes"].key(day.isoformat()))
        if obj is not None:
            stored[day] = day_totals(ASSET_FILES["raw_hourly_minutes"].decode(obj.body).rows)
    if not stored:
        return []
    reports = [ReportDay(d, settings.timezone) for d in sorted(stored)]
    buckets = client.fetch_hourly(
        reports[0].start_utc,
        reports[-1].end_utc,
        quarter_hours=not all(r.whole_hour_offsets() for r in reports),
    )
    tz = ZoneInfo(settings.timezone)
    fresh: dict[dt.date, list[int]] = {d: [0, 0] for d in stored}
    for start, minutes, views in buckets:
        day = start.astimezone(tz).date()
        if day in fresh:
            fresh[day][0] += minutes
            fresh[day][1] += views
    return [
        LateDay(d, stored[d], (fresh[d][0], fresh[d][1]))
        for d in sorted(stored)
        if changed_beyond_tolerance(stored[d], (fresh[d][0], fresh[d][1]))
    ]


def follow_up_requests(
    day: dt.date, today: dt.date, run_id: str, settings: Settings
) -> list[dg.RunRequest]:
    """After a late day is re-collected: its dependents that already exist."""
    last_complete = today - dt.timedelta(days=1)
    requests = []
    # the days whose trends and windows read `day`
    first, last = day + dt.timedelta(days=1), min(day + dt.timedelta(LEAD_DAYS), last_complete)
    if first <= last:
        requests.append(
            dg.RunRequest(
                job_name=REBUILD_DAILY_JOB,
                run_key=f"late-data-trends:{run_id}",
                tags={
                    "dagster/asset_partition_range_start": first.isoformat(),
                    "dagster/asset_partition_range_end": last.isoformat(),
                },
            )
        )
    monday = monday_of(day)
    if (
        monday + dt.timedelta(days=6) <= last_complete
        and monday + dt.timedelta(days=6) >= settings.start_date
    ):
        requests.append(
            dg.RunRequest(
                job_name=WEEKLY_JOB,
                partition_key=monday.isoformat(),
                run_key=f"late-data-week:{run_id}",
            )
        )
    return requests


JOB_ASSETS = {
    DAILY_JOB: {dg.AssetKey(n) for n, f in ASSET_FILES.items() if f.layout != "weekly"},
    REBUILD_DAILY_JOB: {
        dg.AssetKey(n) for n, f in ASSET_FILES.items() if f.layout in ("daily", "rolling")
    },
    WEEKLY_JOB: {dg.AssetKey(n) for n, f in ASSET_FILES.items() if f.layout == "weekly"},
}


def operations_of_run(asset_keys: Iterable[dg.AssetKey]) -> set[str]:
    return {
        OPERATION_OF_LAYOUT[ASSET_FILES[k.path[-1]].layout]
        for k in asset_keys
        if k.path[-1] in ASSET_FILES
    }


@dg.sensor(
    name="late_data_sensor",
    job_name=DAILY_JOB,
    minimum_interval_seconds=LATE_DATA_INTERVAL_SECONDS,
    default_status=SENSOR_STATUS,
    description="Re-collects recent days whose Cloudflare totals changed (late data).",
)
def late_data_sensor(
    context: dg.SensorEvaluationContext,
    cloudflare: CloudflareResource,
    storage: StorageResource,
):
    now = utc_now()
    try:
        with cloudflare.client(
            logger=context.log, limits=NO_WAITING, instance=context.instance
        ) as client:
            late = find_late_days(now, SETTINGS, client, storage.get_store(), storage.private)
    except CloudflareError as exc:
        return dg.SkipReason(f"Cloudflare not asked this time: {exc}")
    for d in late:
        if d.shrank and warn_once(d, storage.get_store(), storage.log_bucket, SETTINGS.source):
            context.log.warning(d.warning())
    grew = [d for d in late if not d.shrank]
    if not grew:
        return dg.SkipReason("no recent day grew beyond the tolerance")
    return [
        dg.RunRequest(
            run_key=d.run_key,
            partition_key=d.day.isoformat(),
            tags={LATE_DATA_TAG: d.day.isoformat()},
        )
        for d in grew
    ]


@dg.run_status_sensor(
    name="late_data_follow_up",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[daily_stats_job],
    request_jobs=[rebuild_daily_job, weekly_stats_job],
    default_status=SENSOR_STATUS,
    description="After a late day is re-collected: the next days' trends, windows, its week.",
)
def late_data_follow_up(context: dg.RunStatusSensorContext):
    day = context.dagster_run.tags.get(LATE_DATA_TAG)
    if not day:
        return dg.SkipReason("not a late-data run")
    today = utc_now().astimezone(ZoneInfo(SETTINGS.timezone)).date()
    return follow_up_requests(
        dt.date.fromisoformat(day), today, context.dagster_run.run_id, SETTINGS
    ) or dg.SkipReason("nothing depends on that day yet")


@dg.run_failure_sensor(
    name="operation_log_on_failure",
    default_status=SENSOR_STATUS,
    description="Writes the LOG_BUCKET record of a failed run that died before writing it.",
)
def operation_log_on_failure(context: dg.RunFailureSensorContext, storage: StorageResource):
    run = context.dagster_run
    written = record_failed_run(
        context.instance,
        run,
        context.failure_event.message,
        storage,
        SETTINGS,
        DAILY_PARTITIONS,
        WEEKLY_PARTITIONS,
    )
    context.log.info(f"run {run.run_id}: wrote {written} missing failure record(s)")


@dg.sensor(
    name="dead_run_reaper",
    minimum_interval_seconds=DEAD_RUN_INTERVAL_SECONDS,
    default_status=SENSOR_STATUS,
    description="Fails runs whose process on this host is gone, logs them, frees their slots.",
)
def dead_run_reaper(context: dg.SensorEvaluationContext, storage: StorageResource):
    """Daemon-launched runs whose process on this host is gone (the default run launcher has
    no health check): failed, logged once and their pool slots freed (`runs`)."""
    instance = context.instance

    def record(run: dg.DagsterRun, message: str) -> int:
        return record_failed_run(
            instance, run, message, storage, SETTINGS, DAILY_PARTITIONS, WEEKLY_PARTITIONS
        )

    reaped = reap_dead_runs(instance, record)
    for r in reaped:
        context.log.warning(f"run {r.run_id}: {r.message}; marked failed, slots freed")
    return dg.SkipReason(f"{len(reaped)} dead run(s) failed and freed")


def record_failed_run(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    message: str | None,
    storage: StorageResource,
    settings: Settings,
    daily_partitions: dg.PartitionsDefinition,
    weekly_partitions: dg.PartitionsDefinition,
) -> int:
    """Log the failure of a run that died without logging it (its failure hooks never ran):
    if the run wrote no failure record, write one for every (operation, date) of the run
    that has no record yet. Returns how many were written (0 when the run logged itself)."""
    selection = run.asset_selection or JOB_ASSETS.get(run.job_name, set())
    store, bucket = storage.get_store(), storage.log_bucket
    missing: list[tuple[str, str]] = []
    for operation in sorted(operations_of_run(selection)):
        parts = weekly_partitions if operation == oplog.COLLECT_WEEKLY else daily_partitions
        for key in run_partition_keys(instance, run.run_id, parts):
            existing = oplog.read_record(store, bucket, operation, key, run.run_id)
            if existing is None:
                missing.append((operation, key))
            elif not existing.success:
                return 0  # the run logged its failure itself
    for operation, key in missing:
        error = f"run failed: {error_line(message)}"
        record = oplog.failure_record(operation, key, run.run_id, error, settings.source)
        oplog.write_record(store, bucket, record)
    return len(missing)
