"""Live tests: real redis-servers on free loopback ports, the sampler and the simulator as
the processes `stream-stats` starts, their environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stream_stats_dagster.live.servers import MissingTool, RedisServer
from tests.support.pipeline import PROJECT_VARS

CLI = [sys.executable, "-m", "stream_stats_dagster.cli"]
LIVE_VARS = ["REDIS_URL", "LIVE_SAMPLE_SECONDS", "LIVE_RESCAN_SAMPLES", "LIVE_SPOOL_DIR"]


def live_env(root: Path, server: RedisServer, **extra: str) -> dict[str, str]:
    """The environment of a sampler (as the read-only user) writing under `root`."""
    env = {k: v for k, v in os.environ.items() if k not in PROJECT_VARS + LIVE_VARS}
    env.update(
        REDIS_URL=server.url(),
        LIVE_SAMPLE_SECONDS="1",
        LIVE_RESCAN_SAMPLES="3",
        LIVE_SPOOL_DIR=str(root / "spool"),
        STREAM_STATS_LOCAL_DIR=str(root / "data"),
        STREAM_STATS_TIMEZONE="Asia/Seoul",
        STREAM_STATS_START_DATE="2025-03-01",
        STREAM_STATS_AUTOMATION="stopped",
        DAGSTER_HOME=str(root / "dagster_home"),
        PRIVATE_BUCKET="private-bucket",
    )
    env.update(extra)
    return env


def start_sampler(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "live-sampler", *args],
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def simulate(env: dict[str, str], server: RedisServer, log: Path, seconds: float, **opts) -> None:
    args = {"peak": 40, "stage-limit": 12, "heartbeat": 2, "silent": 4, "cleanup": 2, **opts}
    flags = [x for k, v in args.items() for x in (f"--{k}", str(v))]
    subprocess.run(
        [*CLI, "live-simulator", "--seconds", str(seconds), "--log", str(log), *flags],
        env={**env, "REDIS_URL": server.url(sampler=False)},
        check=True,
        capture_output=True,
        timeout=seconds + 60,
    )


def require_redis(server: RedisServer) -> RedisServer:
    try:
        return server.start()
    except MissingTool as exc:
        pytest.fail(str(exc), pytrace=False)
