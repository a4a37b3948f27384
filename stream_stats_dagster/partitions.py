"""Partitions in the report time zone: daily days, ISO weeks (key = Monday), 7-day windows."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from .config import Settings
from .dates import monday_of

MAX_DAYS_PER_RUN = 31  # Cloudflare's longest query range; also bounds a backfill run's memory


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_date.isoformat(), timezone=settings.timezone
    )


def weekly_partitions(settings: Settings) -> dg.WeeklyPartitionsDefinition:
    """Monday..Sunday weeks; the first week is the one containing the start date."""
    first_monday = monday_of(settings.start_date)
    return dg.WeeklyPartitionsDefinition(
        start_date=first_monday.isoformat(), day_offset=1, timezone=settings.timezone
    )


def last_7_days() -> dg.TimeWindowPartitionMapping:
    """d-6..d; days before the start date are clipped (the reports zero-fill them)."""
    return dg.TimeWindowPartitionMapping(
        start_offset=-6, end_offset=0, allow_nonexistent_upstream_partitions=True
    )


def daily_backfill_policy() -> dg.BackfillPolicy:
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN)


def week_days(monday: dt.date) -> list[dt.date]:
    return [monday + dt.timedelta(days=i) for i in range(7)]
