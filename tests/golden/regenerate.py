"""Regenerate the golden files: `python -m tests.golden.regenerate`.

Collects 2025-03-01..2025-03-10 (start date 2025-03-01, top 300 videos) from the
small-scale simulator over loopback HTTP, then keeps what the golden test compares:
the raw extracts of all ten days, the daily files of 2025-03-09 and 2025-03-10, the
rolling window ending 2025-03-10 and the week 2025-03-03..2025-03-09 (ISO 2025-W10).

The files were frozen from the object-per-row core (commit feeac85) before the
columnar rewrite; regenerate them only when the contract changes on purpose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from stream_stats_dagster.simulator import Simulator, small_config

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
FIRST, LAST = "2025-03-01", "2025-03-10"
CLEARED = ("AWS_", "STREAM_STATS_", "R2_", "CLOUDFLARE_", "DAGSTER_")


def collect_env(base_url: str, data_dir: Path | str, **more: str) -> dict[str, str]:
    """The environment of a collect of the golden days: this process's without any of the
    project's, AWS or Dagster variables, pointed at the simulator at `base_url` and at
    `data_dir` (start date FIRST), plus `more`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(CLEARED) and k not in ("STATS_BUCKET", "LOG_BUCKET")
    }
    env.update(
        CLOUDFLARE_API_BASE_URL=base_url,
        CLOUDFLARE_ACCOUNT_ID="sim-account",
        CLOUDFLARE_API_TOKEN="sim-token",
        STREAM_STATS_LOCAL_DIR=str(data_dir),
        STREAM_STATS_START_DATE=FIRST,
        **more,
    )
    return env


KEPT = [
    "raw/",
    "daily/2025-03/2025-03-09-",
    "daily/2025-03/2025-03-10-",
    "rolling/history/2025-03/2025-03-10-",
    "weekly/2025-03/2025-10-",
]


def golden_keys(root: Path) -> list[str]:
    base = root / "points-system-bucket" / "stream-stats"
    return sorted(
        str(p.relative_to(base))
        for p in base.rglob("*.json")
        if any(str(p.relative_to(base)).startswith(k) for k in KEPT)
        and not str(p.relative_to(base)).startswith("raw/revisions/")
        # the complete per-video minutes: against the simulator's truth in their own test
        and not p.name.endswith("-uid-minutes.json")
    )


def main() -> int:
    sim = Simulator(small_config())
    server = sim.serve(host="127.0.0.1", port=0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = collect_env(
                server.base_url,
                f"{tmp}/data",
                STREAM_STATS_TOP_VIDEOS="300",
                DAGSTER_HOME=f"{tmp}/home",
            )
            cmd = [sys.executable, "-m", "stream_stats_dagster.cli", "collect"]
            subprocess.run([*cmd, "--from", FIRST, "--to", LAST], env=env, check=True)
            root = Path(tmp) / "data"
            shutil.rmtree(FILES, ignore_errors=True)
            for key in golden_keys(root):
                target = FILES / key
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / "points-system-bucket" / "stream-stats" / key, target)
    finally:
        server.close()
    print(f"golden files in {FILES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
