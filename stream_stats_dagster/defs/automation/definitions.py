"""Schedules, automation conditions and sensors: how the graph runs itself.

Loaded by `load_from_defs_folder` through the `@dg.definitions` function below."""

import dagster as dg

from ...config import Settings, load_settings
from ...partitions import daily_partitions, weekly_partitions
from ..jobs import JOBS, AssetJob
from .freshness import build_freshness
from .schedules import build_automation_sensor, build_daily_schedule
from .sensors import build_dead_run_reaper, build_sensors


def build_automation(
    settings: Settings,
    jobs: list[AssetJob],
    daily_partitions: dg.PartitionsDefinition,
    weekly_partitions: dg.PartitionsDefinition,
) -> tuple[list[dg.ScheduleDefinition], list[dg.SensorDefinition], list[dg.AssetChecksDefinition]]:
    """Schedules, sensors and freshness checks. RUNNING by default (production);
    STREAM_STATS_AUTOMATION=stopped for tests/local use."""
    running = settings.automation == "running"
    schedule_status = (
        dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED
    )
    sensor_status = dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
    daily_job = next(j for j in jobs if j.name == "daily_stats_job")
    schedules = [build_daily_schedule(daily_job, settings, schedule_status)]
    checks, freshness_sensors = build_freshness(settings, sensor_status)
    sensors = [
        build_automation_sensor(sensor_status),
        *build_sensors(settings, daily_partitions, weekly_partitions, jobs, sensor_status),
        build_dead_run_reaper(settings, sensor_status),
        *freshness_sensors,
    ]
    return schedules, sensors, checks


@dg.definitions
def automation() -> dg.Definitions:
    settings = load_settings()
    schedules, sensors, checks = build_automation(
        settings, JOBS, daily_partitions(settings), weekly_partitions(settings)
    )
    return dg.Definitions(schedules=schedules, sensors=sensors, asset_checks=checks)
