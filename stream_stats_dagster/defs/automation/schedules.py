"""Time-based automation: the daily job at 00:15 report time, the weekly files from
Monday 00:20 once all seven days have landed (an automation condition, not a schedule,
so that a late Sunday delays the week instead of failing it, and it still runs once).
"""

from __future__ import annotations

import dagster as dg

from ...config import Settings
from ..jobs import DAILY_JOB, AssetJob

AC = dg.AutomationCondition
WEEKLY_CRON = "20 0 * * 1"  # Monday 00:20 in the report time zone (Sunday 15:20 UTC for KST)


def weekly_condition(settings: Settings) -> dg.AutomationCondition:
    """The latest week, once Monday 00:20 has passed, when no day is missing or in flight;
    `since_last_handled` makes it fire exactly once per week."""
    return (
        AC.in_latest_time_window()
        & AC.cron_tick_passed(WEEKLY_CRON, settings.timezone).since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
    ).with_label("weekly: after Monday 00:20, all seven days landed")


def build_daily_schedule(job: AssetJob, status: dg.DefaultScheduleStatus) -> dg.ScheduleDefinition:
    """00:15 report time for the previous day (partition end + 15 minutes)."""
    return dg.build_schedule_from_partitioned_job(
        job,
        name="daily_stats_schedule",
        hour_of_day=0,
        minute_of_hour=15,
        default_status=status,
        description=f"{DAILY_JOB} for yesterday, at 00:15 in the report time zone.",
    )


def build_automation_sensor(
    status: dg.DefaultSensorStatus,
) -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        "weekly_automation",
        target=dg.AssetSelection.groups("weekly"),
        default_status=status,
        minimum_interval_seconds=60,
        description="Evaluates the weekly files' condition: Monday 00:20, all seven days landed.",
    )
