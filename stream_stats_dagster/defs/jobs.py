"""Jobs: what an operator or the CLI launches. Automation (schedules, sensors) targets these."""

from __future__ import annotations

from typing import Any

import dagster as dg

AssetJob = Any
"""What `dg.define_asset_job` returns (its class is not part of Dagster's public API)."""

DAILY_JOB = "daily_stats_job"
WEEKLY_JOB = "weekly_stats_job"
REBUILD_DAILY_JOB = "rebuild_daily_job"

RAW = dg.AssetSelection.groups("raw")
DAILY = dg.AssetSelection.groups("daily")
ROLLING = dg.AssetSelection.groups("rolling")
WEEKLY = dg.AssetSelection.groups("weekly")


def build_jobs() -> list[AssetJob]:
    """Partitions are inferred from the selected assets (daily, or weekly)."""
    return [
        dg.define_asset_job(
            DAILY_JOB,
            selection=RAW | DAILY | ROLLING,
            description="Collect a day from Cloudflare: raw extracts, daily files, rolling window.",
        ),
        dg.define_asset_job(
            REBUILD_DAILY_JOB,
            selection=DAILY | ROLLING,
            description="Re-derive daily files and rolling windows from stored raw extracts.",
        ),
        dg.define_asset_job(
            WEEKLY_JOB,
            selection=WEEKLY,
            description="Build the ISO week's files from its seven daily partitions.",
        ),
    ]
