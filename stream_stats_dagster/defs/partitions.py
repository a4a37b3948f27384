"""The location's partitions, in the report time zone from STREAM_STATS_START_DATE: report
days (raw, daily, rolling, costs, live), ISO weeks keyed by their Monday (weekly) and local
hours (live samples). How they are built is `stream_stats_dagster.partitions` and
`live.partitions`; these are the instances every asset, check, job and schedule of the
location shares."""

from ..partitions import daily_partitions, weekly_partitions
from .live.partitions import hourly_partitions
from .settings import SETTINGS

DAILY_PARTITIONS = daily_partitions(SETTINGS)
WEEKLY_PARTITIONS = weekly_partitions(SETTINGS)
HOURLY_PARTITIONS = hourly_partitions(SETTINGS)
