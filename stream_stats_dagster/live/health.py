"""The live sampler's health check (`python -m stream_stats_dagster.live.health`): healthy
while samples reach the spool, that is, while the newest spool file was appended to within
three sample intervals (at least a minute). Exit 0 when healthy, 1 with one line otherwise.
Reads LIVE_SPOOL_DIR and LIVE_SAMPLE_SECONDS only (no secret); used by the compose service's
healthcheck and the Kubernetes manifest's liveness probe (deploy/)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ..config import DEFAULT_LIVE_SAMPLE_SECONDS, DEFAULT_LIVE_SPOOL_DIR


def check(spool_dir: str, sample_seconds: float, now: float | None = None) -> str | None:
    """None when healthy, else why not."""
    hours = Path(spool_dir) / "hours"
    files = list(hours.glob("*.jsonl")) if hours.is_dir() else []
    if not files:
        return f"no sample in the spool {hours} yet"
    newest = max(p.stat().st_mtime for p in files)
    age = (time.time() if now is None else now) - newest
    limit = max(60.0, 3 * sample_seconds)
    if age > limit:
        return f"the last sample reached the spool {age:.0f} s ago (more than {limit:.0f} s)"
    return None


def main() -> int:
    try:
        seconds = float(os.environ.get("LIVE_SAMPLE_SECONDS") or DEFAULT_LIVE_SAMPLE_SECONDS)
    except ValueError:
        seconds = DEFAULT_LIVE_SAMPLE_SECONDS
    problem = check(os.environ.get("LIVE_SPOOL_DIR") or DEFAULT_LIVE_SPOOL_DIR, seconds)
    if problem:
        print(f"live-sampler unhealthy: {problem}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
