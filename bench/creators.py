"""What each creator's own files add to a day (issue 27), at the seed's scale and at 10×.

    python -m bench.creators [--scale 1 --scale 10] [--latency 0.02]

For each scale: the simulator (`--latency` s on every API call) over loopback HTTP, a warm-up
`stream-stats collect` of the day before (metadata cache, lead days), then the measured day
in a process of its own, local-directory storage. Read back from the run's Dagster events:

- the per-video minutes step (`raw_uid_minutes`: GraphQL requests and nodes) and the
  catalogue snapshot (`video_catalog`: REST calls), with their seconds: the extracts the
  creators' files need and the daily collect did not fetch before;
- `creator_days`' page: files, bytes, p99 and largest file, build and write seconds.

Then the day's creator files are written again, in this process, to `moto_server` through
the project's R2 store with `--latency` s slept before every S3 request (an R2 round trip):
once into an empty bucket (a new day: one `If-None-Match` PUT per file and the manifest),
once more unchanged (one GET of the manifest). Those requests, at R2's prices, give the
month's cost; the GETs an uploader's page makes (two) are priced per million page views.

Numbers go to stdout and `bench/results/creators-<time>.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.s3server import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, moto_server

REPO = Path(__file__).resolve().parent.parent
DAY = dt.date(2025, 3, 16)  # a Sunday: its week's creator files are written too
CLASS_A_PER_MILLION = 4.50  # R2, USD: PUT, LIST...
CLASS_B_PER_MILLION = 0.36  # R2, USD: GET, HEAD
STORAGE_PER_GB_MONTH = 0.015
DAYS_PER_MONTH = 30


def scaled_config(scale: int, latency: float):
    """The seed's platform with `scale` times its creators, videos and views."""
    from stream_stats_dagster.simulator import SimulatorConfig

    base = SimulatorConfig()
    return SimulatorConfig(
        latency_seconds=latency,
        videos=base.videos * scale,
        big_creators=base.big_creators * scale,
        big_posts=base.big_posts * scale,
        small_creators=base.small_creators * scale,
        unwatched_videos=base.unwatched_videos * scale,
        records_per_hour=base.records_per_hour * scale,
    )


def collect(env: dict[str, str], day: dt.date) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "stream_stats_dagster.cli", "collect", "--date", day.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if done.returncode != 0:
        raise SystemExit(f"collect {day} failed:\n{done.stdout}\n{done.stderr}")
    return time.monotonic() - started


def run_numbers(home: Path, day: dt.date) -> dict[str, Any]:
    """Step seconds and page metadata of the newest run, from its Dagster events."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="daily_stats_job"), limit=1)
        starts: dict[str, float] = {}
        out: dict[str, Any] = {"steps": {}, "pages": {}}
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type_value == "STEP_START":
                starts[event.step_key] = entry.timestamp
            elif event.event_type_value == "STEP_SUCCESS":
                out["steps"][event.step_key] = round(entry.timestamp - starts[event.step_key], 3)
            elif event.event_type_value == "ASSET_MATERIALIZATION":
                m = event.event_specific_data.materialization
                if m.partition == day.isoformat():
                    out["pages"][m.asset_key.to_user_string()] = {
                        k: v.value
                        for k, v in m.metadata.items()
                        if isinstance(v.value, int | float)
                    }
    return out


def replay_writes(root: Path, day: dt.date, latency: float) -> dict[str, Any]:
    """The day's creator files written to moto through `R2Store` with `latency` before each
    request: a new day, then the same files again."""
    from stream_stats_dagster.file_sets import write_file_set
    from stream_stats_dagster.files import CREATOR_FILES
    from stream_stats_dagster.storage.r2 import R2Store, make_r2_client

    spec = CREATOR_FILES["creator_days"]
    base = root / "points-system-bucket"
    manifest = json.loads((base / spec.manifest_key(day.isoformat())).read_bytes())
    files = {key: (base / key).read_bytes() for key in manifest["files"]}
    counts: dict[str, int] = {}

    def before_send(request, **_: Any) -> None:
        counts[request.method] = counts.get(request.method, 0) + 1
        time.sleep(latency)

    out: dict[str, Any] = {"files": len(files), "bytes": sum(map(len, files.values()))}
    with moto_server(timeout=30.0) as moto:
        moto.create_bucket("replay")
        client = make_r2_client(
            endpoint_url=moto.endpoint_url,
            aws_access_key_id=TEST_ACCESS_KEY_ID,
            aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
        )
        client.meta.events.register("before-send.s3", before_send)
        store = R2Store(client, moto.endpoint_url)
        for label in ("new day", "unchanged"):
            counts.clear()
            started = time.monotonic()
            written = write_file_set(
                store,
                "replay",
                spec.manifest_key(day.isoformat()),
                files,
                cache_control=spec.cache_control,
            )
            out[label] = {
                "seconds": round(time.monotonic() - started, 2),
                "requests": dict(sorted(counts.items())),
                "files written": written.written,
            }
    return out


def file_sizes(root: Path, day: dt.date) -> dict[str, int]:
    """Bytes of each file the day wrote (its week's too, and each creator set's p99), by
    name, for the contract's table."""
    import numpy as np

    out: dict[str, int] = {}
    week = f"{day.isocalendar().year}-{day.isocalendar().week:02d}"
    for path in sorted(root.rglob("*.json")):
        key = path.relative_to(root).as_posix()
        if "/creators/" in key or "/revisions/" in key:
            continue
        if day.isoformat() in path.name or path.name.startswith(week) or "/last7days-" in key:
            out[key.split("/", 1)[1]] = path.stat().st_size
    for kind in ("days", "weeks"):
        sizes = [
            p.stat().st_size
            for p in root.rglob(f"creators/*/{kind}/*/*.json")
            if "manifests" not in p.parts
        ]
        if sizes:
            out[f"creator {kind[:-1]} file p99"] = int(np.percentile(sizes, 99))
            out[f"creator {kind[:-1]} file max"] = max(sizes)
    return out


def monthly_cost(new_day: dict[str, int], week_files: int) -> dict[str, float]:
    """USD a month on R2 for the files' requests (a new day's set every day, a new week's
    set every week: one PUT a file, the manifest's HEAD and PUT; one unchanged re-run a
    day costs one GET and one HEAD)."""
    day_puts = new_day.get("PUT", 0)
    week_puts = week_files + 1
    class_a = round(day_puts * DAYS_PER_MONTH + week_puts * DAYS_PER_MONTH / 7)
    class_b = (new_day.get("GET", 0) + new_day.get("HEAD", 0) + 2) * DAYS_PER_MONTH
    return {
        "class A requests": class_a,
        "class A USD": round(class_a / 1e6 * CLASS_A_PER_MILLION, 2),
        "class B requests": class_b,
        "class B USD": round(class_b / 1e6 * CLASS_B_PER_MILLION, 4),
        "per million page views (2 GETs) USD": round(2 * CLASS_B_PER_MILLION, 2),
    }


def measure(scale: int, latency: float) -> dict[str, Any]:
    from stream_stats_dagster.simulator import Simulator

    sim = Simulator(scaled_config(scale, latency))
    _ = sim.platform.catalog
    server = sim.serve()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-creators-") as tmp:
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("AWS_", "STREAM_STATS_", "R2_", "CLOUDFLARE_", "DAGSTER_"))
            }
            env.update(
                CLOUDFLARE_API_BASE_URL=server.base_url,
                CLOUDFLARE_ACCOUNT_ID="sim-account",
                CLOUDFLARE_API_TOKEN="sim-token",
                STREAM_STATS_LOCAL_DIR=f"{tmp}/data",
                STREAM_STATS_START_DATE=(DAY - dt.timedelta(days=13)).isoformat(),
                STREAM_STATS_AUTOMATION="stopped",
                DAGSTER_HOME=f"{tmp}/home",
            )
            Path(env["DAGSTER_HOME"]).mkdir()
            warm_up = collect(env, DAY - dt.timedelta(days=1))
            seconds = collect(env, DAY)
            numbers = run_numbers(Path(env["DAGSTER_HOME"]), DAY)
            replay = replay_writes(Path(tmp) / "data", DAY, latency)
            sizes = file_sizes(Path(tmp) / "data", DAY)
            # DAY is a Sunday: the creators of its 7-day window are its week's creators, who
            # get a week file each when the week is collected (a run of its days)
            week_files = replay["files"]
    finally:
        server.close()
    pages, steps = numbers["pages"], numbers["steps"]
    return {
        "scale": scale,
        "latency s": latency,
        "day": DAY.isoformat(),
        "warm-up collect s": round(warm_up, 1),
        "collect s": round(seconds, 1),
        "steps s": steps,
        "raw_uid_minutes": pages.get("raw_uid_minutes", {}),
        "video_catalog": pages.get("video_catalog", {}),
        "creator_days": pages.get("creator_days", {}),
        "creator_weeks files": week_files,
        "replay at latency": replay,
        "file sizes": sizes,
        "month on R2": monthly_cost(replay["new day"]["requests"], week_files),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, action="append")
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for scale in args.scale or [1, 10]:  # each scale's numbers as soon as they are measured
        text = json.dumps(measure(scale, args.latency), indent=1, ensure_ascii=False)
        print(text, flush=True)
        (out / f"creators-{stamp}-x{scale}.json").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
