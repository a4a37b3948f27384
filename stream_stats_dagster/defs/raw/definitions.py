"""The `raw` group's definitions, loaded by `load_from_defs_folder`."""

import dagster as dg

from ... import oplog
from ...config import load_settings
from ...partitions import daily_partitions
from ..common import with_conventions
from ..oplog_hooks import failure_hook
from .assets import build_raw_assets
from .catalogue import build_catalogue_assets


@dg.definitions
def raw() -> dg.Definitions:
    """The raw extracts, per-video minutes and catalogue; a failure logs collectDailyStats."""
    settings = load_settings()
    on_failure = failure_hook(oplog.COLLECT_DAILY, daily_partitions(settings), settings.source)
    assets = [
        *build_raw_assets(settings, {on_failure}),
        *build_catalogue_assets(settings, {on_failure}),
    ]
    return dg.Definitions(assets=with_conventions(assets))
