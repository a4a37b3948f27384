"""The cost reports (issue 14): assets in group `costs`, their own job and schedule.

Loaded by `load_from_defs_folder` through the `@dg.definitions` function below."""

from __future__ import annotations

import dagster as dg

from ...config import Settings, load_settings
from ..automation.schedules import yesterday_schedule
from ..common import with_conventions
from .assets import build_cost_assets

COSTS_JOB = "stream_costs_job"
COSTS = dg.AssetSelection.groups("costs")


def build_cost_definitions(settings: Settings) -> dg.Definitions:
    """Assets, `stream_costs_job` and its schedule: 00:45 report time for the previous day,
    after `daily_stats_job` (00:15) has written the raw extracts these reports read."""
    job = dg.define_asset_job(
        COSTS_JOB,
        selection=COSTS,
        description="Stream costs and cold videos of a day, from the per-video minutes and "
        "catalogue snapshot daily_stats_job stored.",
    )
    status = (
        dg.DefaultScheduleStatus.RUNNING
        if settings.automation == "running"
        else dg.DefaultScheduleStatus.STOPPED
    )
    schedule = yesterday_schedule(
        job,
        "stream_costs_schedule",
        "45 0 * * *",
        settings,
        status,
        f"{COSTS_JOB} for yesterday, at 00:45 in the report time zone.",
    )
    return dg.Definitions(
        assets=with_conventions(build_cost_assets(settings)), jobs=[job], schedules=[schedule]
    )


@dg.definitions
def costs() -> dg.Definitions:
    """Cost and cold-video reports, their job and schedule."""
    return build_cost_definitions(load_settings())
