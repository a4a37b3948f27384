"""The `weekly` group's definitions, loaded by `load_from_defs_folder`."""

import dagster as dg

from ... import oplog
from ...config import load_settings
from ...partitions import weekly_partitions
from ..common import with_conventions
from ..oplog_hooks import failure_hook
from .assets import build_weekly_assets


@dg.definitions
def weekly() -> dg.Definitions:
    """The weekly files; the step logs collectWeeklyStats."""
    settings = load_settings()
    on_failure = failure_hook(oplog.COLLECT_WEEKLY, weekly_partitions(settings), settings.source)
    return dg.Definitions(assets=with_conventions(build_weekly_assets(settings, on_failure)))
