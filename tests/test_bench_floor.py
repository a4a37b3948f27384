"""The bench's floor (`bench/floor.py`) is an independent plain script: it must write the
golden files byte for byte, send the product's GraphQL documents, and never import the
project or Dagster (issue 11, item 6). The files the golden set leaves out (the per-video
minutes, the catalogue snapshots, each creator's files) are compared with a product
`collect` of the same days. Small scale: a few seconds for the floor, ~30 s for the
product."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from bench import floor
from stream_stats_dagster.cloudflare import queries
from tests.golden.regenerate import FILES, FIRST, LAST, collect_env
from tests.support.pipeline import simulator_server

REPO = Path(__file__).resolve().parent.parent
BUCKET = "points-system-bucket"


def _env(base_url: str, root: Path) -> dict[str, str]:
    return collect_env(base_url, root, STREAM_STATS_TOP_VIDEOS="300", PYTHONPATH=str(REPO))


def _collect(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-X", "importtime", "-m", "bench.floor", "collect", *args]
    return _run(cmd, env)


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return done


def _imported(stderr: str) -> set[str]:
    """Every module the process imported (`-X importtime` prints one line each)."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _files(base: Path) -> dict[str, bytes]:
    return {str(p.relative_to(base)): p.read_bytes() for p in base.rglob("*.json")}


def test_floor_writes_the_golden_bytes_without_the_project(tmp_path):
    with simulator_server() as (sim, base_url):
        env = _env(base_url, tmp_path / "data")
        done = _collect(env, "--from", FIRST, "--to", LAST)
        first_counts = sim.stats.as_dict()
        stats = tmp_path / "data" / BUCKET / "stream-stats"
        before = {k: (stats / k).stat().st_mtime_ns for k in _files(stats)}
        logs = list((tmp_path / "data" / "logs-bucket").rglob("*.json"))
        _collect(env, "--from", FIRST, "--to", LAST)  # again: nothing changes

    modules = _imported(done.stderr)
    assert "bench" in modules and "httpx" in modules  # `-m bench.floor` runs as __main__
    project = sorted(m for m in modules if m.split(".")[0] in ("stream_stats_dagster", "dagster"))
    assert project == [], f"the floor imported {project[:5]}"

    written = _files(stats)
    golden = _files(FILES)
    assert len(golden) == 63
    assert {k: written.get(k) for k in golden} == golden
    # the rest of what `collect` writes: the other days, pointers, index, cache, op log
    assert len([k for k in written if k.startswith("daily/")]) == 40
    assert len([k for k in written if k.startswith("rolling/last7days-")]) == 3
    assert '"date":"2025-03-10"' in written["index.json"].decode()
    assert "cache/video-catalog.json" in written
    assert len(logs) == 10 + 10 + 1  # collectDailyStats, updateRollingStats, collectWeeklyStats
    # the files beside the golden ones: per-video minutes, catalogue snapshots, creator sets
    assert len([k for k in written if k.endswith("-uid-minutes.json")]) == 10
    assert len([k for k in written if k.startswith("costs/")]) == 10
    assert len([k for k in written if k.startswith("creators/manifests/days/")]) == 10
    assert len([k for k in written if k.startswith("creators/manifests/weeks/")]) == 1
    # the product's request counts for the same range (tests/golden: 2 runs of days, 1 week):
    # per run one request of the four nodes a day, one of the per-video minutes (a node a
    # day); REST: the first run lists the catalogue (top videos unknown), its catalogue step
    # lists it whole again (never listed whole), the second counts and lists from the cursor
    assert first_counts["graphql_requests"] == 6 and first_counts["nodes"] == 50
    assert first_counts["rest_calls"] == 13
    assert {k: (stats / k).stat().st_mtime_ns for k in before} == before


def test_floor_sends_the_products_graphql_documents():
    """The first request of a 7-day run, built by the floor and by the product's builders."""
    days = [dt.date(2025, 3, 1) + dt.timedelta(days=i) for i in range(3)]
    nodes, expected = [], []
    for i, day in enumerate(days):
        start = dt.datetime.combine(day, dt.time(0), tzinfo=floor.ZoneInfo("Asia/Seoul"))
        s, e = floor.utc_z(start), floor.utc_z(start + dt.timedelta(days=1))
        d = f"d{i}"
        nodes += [
            floor.Node(f"{d}_creators", "creators", day, ("creator",), s, e, 10000,
                       ("creator_ASC",)),
            floor.Node(f"{d}_videos", "videos", day, ("uid", "creator"), s, e, 1000,
                       ("sum_minutesViewed_DESC", "count_DESC", "uid_ASC")),
            floor.Node(f"{d}_hours", "series", day, ("datetimeHour",), s, e, 1000,
                       ("datetimeHour_ASC",)),
            floor.Node(f"{d}_creators_p2", "creators", day, ("creator",), s, e, 10000,
                       ("creator_ASC",), ("creator", "u1234")),
        ]  # fmt: skip
        expected += [
            queries.keyset_node(f"{d}_creators", "creator", s, e),
            queries.top_videos_node(f"{d}_videos", s, e, 1000),
            queries.series_node(f"{d}_hours", "datetimeHour", s, e),
            queries.keyset_node(f"{d}_creators_p2", "creator", s, e, after="u1234"),
        ]
    assert floor.document(nodes) == queries.build_query(expected)


def _cache_without_stamp(body: bytes) -> dict:
    """The metadata cache without `fullListingAt` (each path stamps its own clock)."""
    doc = json.loads(body)
    assert doc.pop("fullListingAt")  # a whole listing happened
    return doc


def test_floor_writes_the_products_uid_minutes_catalogues_and_creator_files(tmp_path):
    """A product `collect` and the floor, each on its own simulator, of one 7-day run and its
    week (start date its Monday, so no lead days), with a creator key secret: every file
    either writes is the other's, byte for byte (the cache but for its listing time), with
    the same requests."""
    first, last = "2025-03-03", "2025-03-09"
    more = {"STREAM_STATS_START_DATE": first, "STREAM_STATS_CREATOR_KEY_SECRET": "s3cret"}
    written, counts = {}, {}
    for path in ("dagster", "floor"):
        root = tmp_path / path
        with simulator_server() as (sim, base_url):
            env = {**_env(base_url, root / "data"), **more, "DAGSTER_HOME": str(root / "home")}
            if path == "dagster":
                (root / "home").mkdir(parents=True)
                cmd = [sys.executable, "-m", "stream_stats_dagster.cli"]
            else:
                cmd = [sys.executable, "-m", "bench.floor"]
            _run([*cmd, "collect", "--from", first, "--to", last], env)
            counts[path] = sim.stats.as_dict()
        written[path] = _files(root / "data" / BUCKET / "stream-stats")

    product, ours = written["dagster"], written["floor"]
    new = [k for k in product if k.startswith(("creators/", "costs/")) or "uid-minutes" in k]
    assert len([k for k in new if k.startswith("creators/manifests/")]) == 7 + 1
    assert len([k for k in new if k.startswith("costs/")]) == 7
    assert len([k for k in new if k.endswith("-uid-minutes.json")]) == 7
    assert len(new) > 4000  # ~600 creators a day, a file each
    assert {k: ours.get(k) for k in new} == {k: product[k] for k in new}
    cache = "cache/video-catalog.json"
    assert _cache_without_stamp(ours.pop(cache)) == _cache_without_stamp(product.pop(cache))
    assert ours == product  # and nothing else either way
    assert counts["floor"] == counts["dagster"]
