"""The code location: `dagster dev -w workspace.yaml` and the CLI load these definitions.

Definitions are built from validated Settings (partitions depend on the time zone and the
start date), one domain module at a time; nothing here touches the network at load time.
"""

from __future__ import annotations

import dagster as dg

from . import oplog
from .config import Settings, load_settings
from .defs.automation import build_automation
from .defs.common import OWNERS, REPORT_KINDS
from .defs.costs import build_cost_definitions
from .defs.daily.assets import build_daily_assets
from .defs.jobs import build_jobs
from .defs.oplog_hooks import operation_hooks
from .defs.raw.assets import build_raw_assets
from .defs.resources import build_resources
from .defs.rolling.assets import build_rolling_assets
from .defs.weekly.assets import build_weekly_assets
from .partitions import daily_partitions, weekly_partitions


def build_definitions(settings: Settings) -> dg.Definitions:
    daily, weekly = daily_partitions(settings), weekly_partitions(settings)
    daily_fail, daily_ok = operation_hooks(oplog.COLLECT_DAILY, daily, settings.source)
    rolling_fail, rolling_ok = operation_hooks(oplog.UPDATE_ROLLING, daily, settings.source)
    weekly_fail, weekly_ok = operation_hooks(oplog.COLLECT_WEEKLY, weekly, settings.source)
    assets = [
        *build_raw_assets(settings, {daily_fail}),
        *build_daily_assets(settings, daily_fail, daily_ok),
        *build_rolling_assets(settings, rolling_fail, rolling_ok),
        *build_weekly_assets(settings, weekly_fail, weekly_ok),
    ]
    costs = build_cost_definitions(settings)
    jobs = build_jobs()
    schedules, sensors, freshness_checks = build_automation(settings, jobs, daily, weekly)
    return dg.Definitions(
        assets=with_conventions([*assets, *(costs.assets or [])]),
        asset_checks=freshness_checks,
        jobs=[*jobs, *(costs.jobs or [])],
        schedules=[*schedules, *(costs.schedules or [])],
        sensors=sensors,
        resources=build_resources(settings),
        executor=dg.in_process_executor,
    )


def with_conventions(assets: list) -> list:
    """Every asset with an owner, its kinds (pandas and json unless it says more) and a
    link to its source in the UI."""
    owned = dg.map_asset_specs(
        lambda spec: spec.replace_attributes(
            owners=spec.owners or OWNERS, kinds=spec.kinds or REPORT_KINDS
        ),
        assets,
    )
    return dg.with_source_code_references(owned)


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
