"""Hours and days of the live assets, both in the report time zone (Dagster refuses a graph
whose time partitions mix zones). An hour partition is a local hour; its file is keyed by
that hour's UTC start, so the repeated 01:00 of a DST fall-back (Dagster's key
`2025-11-02-01:00-0500`) has its own file, and a +05:30 zone's hours keep their minutes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg

from ... import keys
from ...config import Settings
from ...reports.live import instants


def hourly_partitions(settings: Settings) -> dg.HourlyPartitionsDefinition:
    return _hourly(settings.start_date, settings.timezone)


def _hourly(start: dt.date, timezone: str) -> dg.HourlyPartitionsDefinition:
    return dg.HourlyPartitionsDefinition(start_date=f"{start.isoformat()}-00:00", timezone=timezone)


@dataclass(frozen=True)
class Hour:
    partition: str  # Dagster's key, e.g. 2025-03-11-23:00
    start_us: int  # the hour's UTC start
    key: str  # its file in PRIVATE_BUCKET


def hour(partitions: dg.HourlyPartitionsDefinition, partition: str) -> Hour:
    start = partitions.time_window_for_partition_key(partition).start
    return Hour(partition, instants.of(start), keys.live_samples_key(start))


def hours_of_day(day: dt.date, timezone: str) -> list[Hour]:
    """The local hours of a report day (23, 24 or 25), as partitions and files."""
    partitions = _hourly(day, timezone)
    first, last = f"{day.isoformat()}-00:00", f"{day.isoformat()}-23:00"
    names = partitions.get_partition_keys_in_range(dg.PartitionKeyRange(first, last))
    return [hour(partitions, name) for name in names]
