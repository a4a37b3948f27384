"""Time-based automation: the daily job at 00:15 report time, the weekly files from
Monday 00:20 once all seven days have landed (an automation condition, not a schedule,
so that a late Sunday delays the week instead of failing it, and it still runs once).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from ..jobs import DAILY_JOB, AssetJob, daily_stats_job
from ..settings import SCHEDULE_STATUS, SENSOR_STATUS, SETTINGS

AC = dg.AutomationCondition
DAILY_CRON = "15 0 * * *"  # 00:15 in the report time zone, for the day that just ended
WEEKLY_CRON = "20 0 * * 1"  # Monday 00:20 in the report time zone (Sunday 15:20 UTC for KST)


def weekly_condition(timezone: str) -> dg.AutomationCondition:
    """The latest week, once Monday 00:20 (in `timezone`) has passed, when no day is missing
    or in flight; `since_last_handled` makes it fire exactly once per week."""
    return (
        AC.in_latest_time_window()
        & AC.cron_tick_passed(WEEKLY_CRON, timezone).since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
    ).with_label("weekly: after Monday 00:20, all seven days landed")


def yesterday_schedule(
    job: AssetJob, name: str, cron: str, description: str
) -> dg.ScheduleDefinition:
    """`job` for the previous report day, at `cron` in the report time zone.

    Written by hand with `RunRequest(partition_key=...)`: Dagster's
    `build_schedule_from_partitioned_job` calls a deprecated method on every tick, so each
    tick warned."""
    tz, start = ZoneInfo(SETTINGS.timezone), SETTINGS.start_date

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone=SETTINGS.timezone,
        default_status=SCHEDULE_STATUS,
        description=description,
    )
    def yesterday(context: dg.ScheduleEvaluationContext):
        day = context.scheduled_execution_time.astimezone(tz).date() - dt.timedelta(days=1)
        if day < start:
            return dg.SkipReason(f"{day} is before STREAM_STATS_START_DATE {start}")
        return dg.RunRequest(partition_key=day.isoformat())

    return yesterday


# 00:15 report time for the previous day (the seed's `15 15 * * *` UTC for KST).
daily_stats_schedule = yesterday_schedule(
    daily_stats_job,
    "daily_stats_schedule",
    DAILY_CRON,
    f"{DAILY_JOB} for yesterday, at 00:15 in the report time zone.",
)

weekly_automation = dg.AutomationConditionSensorDefinition(
    "weekly_automation",
    target=dg.AssetSelection.groups("weekly"),
    default_status=SENSOR_STATUS,
    minimum_interval_seconds=60,
    description="Evaluates the weekly files' condition: Monday 00:20, all seven days landed.",
)
