"""Partitions in the report time zone: daily days, ISO weeks (key = Monday), 7-day windows."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from .config import Settings
from .dates import monday_of

# Days per run (a backfill batch, a `collect` chunk). Cloudflare would allow 31 days per
# query, but a run holds its days' documents in memory: the 90-day benchmark peaked at
# 9.2 GB RSS with 31-day runs. Seven keeps a run near one day's cost times seven, and
# costs no extra GraphQL nodes (nodes are per day; days share requests either way).
MAX_DAYS_PER_RUN = 7


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


def daily_backfill_policy() -> dg.BackfillPolicy:
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN)


def week_days(monday: dt.date) -> list[dt.date]:
    return [monday + dt.timedelta(days=i) for i in range(7)]
