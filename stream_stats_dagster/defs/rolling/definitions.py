"""The `rolling` group's definitions, loaded by `load_from_defs_folder`."""

import dagster as dg

from ... import oplog
from ...config import load_settings
from ...partitions import daily_partitions
from ..common import with_conventions
from ..oplog_hooks import failure_hook
from .assets import build_rolling_assets


@dg.definitions
def rolling() -> dg.Definitions:
    """The rolling windows; the step logs updateRollingStats."""
    settings = load_settings()
    on_failure = failure_hook(oplog.UPDATE_ROLLING, daily_partitions(settings), settings.source)
    return dg.Definitions(assets=with_conventions(build_rolling_assets(settings, on_failure)))
