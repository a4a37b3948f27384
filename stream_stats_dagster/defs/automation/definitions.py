"""Schedules, sensors and freshness checks, loaded by `load_from_defs_folder`."""

import dagster as dg

from ...config import load_settings
from ...partitions import daily_partitions, weekly_partitions
from ..jobs import JOBS
from . import build_automation


@dg.definitions
def automation() -> dg.Definitions:
    settings = load_settings()
    schedules, sensors, checks = build_automation(
        settings, JOBS, daily_partitions(settings), weekly_partitions(settings)
    )
    return dg.Definitions(schedules=schedules, sensors=sensors, asset_checks=checks)
