"""The `daily` group's definitions, loaded by `load_from_defs_folder`."""

import dagster as dg

from ... import oplog
from ...config import load_settings
from ...partitions import daily_partitions
from ..common import with_conventions
from ..oplog_hooks import failure_hook
from .assets import build_daily_assets


@dg.definitions
def daily() -> dg.Definitions:
    """The daily files; the step logs collectDailyStats."""
    settings = load_settings()
    on_failure = failure_hook(oplog.COLLECT_DAILY, daily_partitions(settings), settings.source)
    return dg.Definitions(assets=with_conventions(build_daily_assets(settings, on_failure)))
