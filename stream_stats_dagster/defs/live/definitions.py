"""The `live` group's definitions, loaded by `load_from_defs_folder`."""

import dagster as dg

from ...config import load_settings
from ..common import with_conventions
from . import build_live_definitions


@dg.definitions
def live() -> dg.Definitions:
    """Hours of live samples, the day's live audience, their jobs and schedules."""
    built = build_live_definitions(load_settings())
    return dg.Definitions(
        assets=with_conventions(built.assets or []),
        asset_checks=built.asset_checks,
        jobs=built.jobs,
        schedules=built.schedules,
        sensors=built.sensors,
    )
