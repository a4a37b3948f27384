"""The `costs` group's definitions, loaded by `load_from_defs_folder`."""

import dagster as dg

from ...config import load_settings
from ..common import with_conventions
from . import build_cost_definitions


@dg.definitions
def costs() -> dg.Definitions:
    """Cost and cold-video reports, their job and schedule."""
    built = build_cost_definitions(load_settings())
    return dg.Definitions(
        assets=with_conventions(built.assets or []),
        asset_checks=built.asset_checks,
        jobs=built.jobs,
        schedules=built.schedules,
        sensors=built.sensors,
    )
