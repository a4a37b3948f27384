"""Jobs: what an operator or the CLI launches. Automation (schedules, sensors) targets these."""

from __future__ import annotations

from typing import Any

import dagster as dg

AssetJob = Any
"""What `dg.define_asset_job` returns (its class is not part of Dagster's public API)."""

DAILY_JOB = "daily_stats_job"
WEEKLY_JOB = "weekly_stats_job"
REBUILD_DAILY_JOB = "rebuild_daily_job"
COSTS_JOB = "stream_costs_job"  # defs/costs/schedules.py
LIVE_SAMPLES_JOB = "live_samples_job"  # defs/live/schedules.py
LIVE_VIEWERS_JOB = "live_viewers_job"

RAW = dg.AssetSelection.groups("raw")
DAILY = dg.AssetSelection.groups("daily")
ROLLING = dg.AssetSelection.groups("rolling")
WEEKLY = dg.AssetSelection.groups("weekly")
# Freshness checks are the freshness sensor's to evaluate (at their deadlines), not a run's.
FRESHNESS = dg.AssetSelection.checks(
    dg.AssetCheckKey(dg.AssetKey("summary"), "freshness_check"),
    dg.AssetCheckKey(dg.AssetKey("weekly_summary"), "freshness_check"),
)


# Partitions are inferred from the selected assets (daily, or weekly).
daily_stats_job = dg.define_asset_job(
    DAILY_JOB,
    selection=(RAW | DAILY | ROLLING) - FRESHNESS,
    description="Collect a day from Cloudflare: raw extracts, daily files, rolling window.",
)
rebuild_daily_job = dg.define_asset_job(
    REBUILD_DAILY_JOB,
    selection=(DAILY | ROLLING) - FRESHNESS,
    description="Re-derive daily files and rolling windows from stored raw extracts.",
)
weekly_stats_job = dg.define_asset_job(
    WEEKLY_JOB,
    selection=WEEKLY - FRESHNESS,
    description="Build the ISO week's files from its seven daily partitions.",
)
JOBS: list[AssetJob] = [daily_stats_job, rebuild_daily_job, weekly_stats_job]
