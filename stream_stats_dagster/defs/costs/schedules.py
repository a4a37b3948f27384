"""The cost reports' job and schedule: 00:45 report time for the previous day, after
`daily_stats_job` (00:15) has written the per-video minutes and catalogue they read."""

import dagster as dg

from ..automation.schedules import yesterday_schedule
from ..jobs import COSTS_JOB

stream_costs_job = dg.define_asset_job(
    COSTS_JOB,
    selection=dg.AssetSelection.groups("costs"),
    description="Stream costs and cold videos of a day, from the per-video minutes and "
    "catalogue snapshot daily_stats_job stored.",
)

stream_costs_schedule = yesterday_schedule(
    stream_costs_job,
    "stream_costs_schedule",
    "45 0 * * *",
    f"{COSTS_JOB} for yesterday, at 00:45 in the report time zone.",
)
