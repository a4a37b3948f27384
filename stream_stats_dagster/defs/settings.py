"""The settings this code location runs with: read from the environment once, when the
location is imported (by `dg dev`, the webserver's and daemon's code server, a run worker or
the CLI), as Dagster projects read theirs. Every module of `defs/` declares its assets,
partitions, jobs, schedules and sensors at module level from them; a process that wants
other settings is a new process. A wrong variable fails the import with one line naming it
(`config.ConfigError`)."""

import dagster as dg

from ..config import load_settings

SETTINGS = load_settings()

# Schedules and sensors start RUNNING (production); STREAM_STATS_AUTOMATION=stopped leaves
# them off, for tests and local use.
RUNNING = SETTINGS.automation == "running"
SCHEDULE_STATUS = dg.DefaultScheduleStatus.RUNNING if RUNNING else dg.DefaultScheduleStatus.STOPPED
SENSOR_STATUS = dg.DefaultSensorStatus.RUNNING if RUNNING else dg.DefaultSensorStatus.STOPPED
