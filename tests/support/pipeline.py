"""Helpers for end-to-end tests: a pipeline environment (simulator over loopback HTTP,
a temporary storage root and Dagster home) and readers of what the run wrote."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stream_stats_dagster.simulator import Simulator, small_config

# Every variable the project reads: tests set what they need and nothing leaks in.
PROJECT_VARS = [
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_API_BASE_URL",
    "R2_ENDPOINT_URL",
    "R2_ACCOUNT_ID",
    "R2_ACCESS_KEY_ID",
    "R2_SECRET_ACCESS_KEY",
    "STREAM_STATS_LOCAL_DIR",
    "STATS_BUCKET",
    "LOG_BUCKET",
    "STREAM_STATS_TIMEZONE",
    "STREAM_STATS_START_DATE",
    "STREAM_STATS_TOP_VIDEOS",
    "STREAM_STATS_CURRENCY",
    "STREAM_STATS_STORAGE_PRICE",
    "STREAM_STATS_DELIVERY_PRICE",
    "STREAM_STATS_COLD_AFTER_DAYS",
    "STREAM_STATS_SOURCE",
    "STREAM_STATS_LIVE_DRIFT_LIMITS",
    "DAGSTER_HOME",
]


@contextmanager
def simulator_server(**overrides) -> Iterator[tuple[Simulator, str]]:
    sim = Simulator(small_config(**overrides))
    server = sim.serve(host="127.0.0.1", port=0)
    try:
        yield sim, server.base_url
    finally:
        server.close()


def pipeline_env(monkeypatch, tmp_path: Path, base_url: str, **extra: str) -> dict[str, str]:
    """Point the project at the simulator over HTTP (the real client path) and temp dirs."""
    for name in PROJECT_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name, raising=False)
    env = {
        "CLOUDFLARE_API_BASE_URL": base_url,
        "CLOUDFLARE_ACCOUNT_ID": "sim-account",
        "CLOUDFLARE_API_TOKEN": "sim-token",
        "STREAM_STATS_LOCAL_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "STREAM_STATS_START_DATE": "2025-03-01",
        "STREAM_STATS_TOP_VIDEOS": "50",
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def stored_files(root: Path, bucket: str = "points-system-bucket") -> dict[str, str]:
    """key -> md5 of every report file (the shared metadata cache excluded)."""
    base = root / bucket
    return {
        str(p.relative_to(base)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(base.rglob("*.json"))
        if "/cache/" not in str(p)
    }
