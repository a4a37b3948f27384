"""The files stay byte-identical to the ones the object-per-row core wrote (frozen in
tests/golden/files by `python -m tests.golden.regenerate`, digests of the same days at the
default scale in tests/golden/default-scale.sha256)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.files import ASSET_FILES, RAW_ASSETS
from stream_stats_dagster.keys import INDEX_KEY, rolling_pointer_key
from stream_stats_dagster.reports import daily, windows
from tests.golden.regenerate import FILES, FIRST, LAST, golden_keys
from tests.support.pipeline import pipeline_env, simulator_server, stored_files

HERE = Path(__file__).resolve().parent
START = dt.date.fromisoformat(FIRST)


def _key(asset: str, partition_key: str) -> str:
    return ASSET_FILES[asset].key(partition_key).removeprefix("stream-stats/")


def _raw_frames() -> dict[str, dict[dt.date, object]]:
    out: dict[str, dict[dt.date, object]] = {}
    for asset in RAW_ASSETS:
        for path in sorted(FILES.glob(f"raw/*/*-{ASSET_FILES[asset].name}.json")):
            extract = ASSET_FILES[asset].decode(path.read_bytes())
            out.setdefault(asset, {})[dt.date.fromisoformat(extract.date)] = extract.rows
    return out


def test_raw_extracts_round_trip_byte_for_byte():
    paths = sorted(FILES.glob("raw/*/*.json"))
    assert len(paths) == 50
    for path in paths:
        asset = next(a for a in RAW_ASSETS if path.name.endswith(f"-{ASSET_FILES[a].name}.json"))
        spec = ASSET_FILES[asset]
        assert spec.encode(spec.decode(path.read_bytes())) == path.read_bytes(), path.name


def test_reports_from_the_raw_extracts_are_the_golden_bytes():
    raw = _raw_frames()
    creators, countries = raw["raw_creator_minutes"], raw["raw_country_minutes"]
    videos, hourly = raw["raw_video_minutes"], raw["raw_hourly_minutes"]
    built: dict[tuple[str, str], object] = {}
    for day in (dt.date(2025, 3, 9), dt.date(2025, 3, 10)):
        k = day.isoformat()
        built["creators", k] = daily.daily_creators(day, creators, start_date=START)
        built["countries", k] = daily.daily_countries(day, countries[day])
        built["videos_with_posts", k] = daily.videos_with_posts(
            day, videos[day], raw["raw_video_metadata"][day]
        )
        built["summary", k] = daily.daily_summary(
            day,
            hourly,
            creators=creators[day],
            countries=countries[day],
            videos=videos[day],
            start_date=START,
        )
    end, monday = dt.date(2025, 3, 10), dt.date(2025, 3, 3)
    rc = windows.rolling_creators(end, creators, start_date=START)
    rk = windows.rolling_countries(end, countries, start_date=START)
    built["rolling_creators", "2025-03-10"], built["rolling_countries", "2025-03-10"] = rc, rk
    built["rolling_summary", "2025-03-10"] = windows.rolling_summary(
        end, hourly, videos, creators=rc, countries=rk, start_date=START
    )
    wc = windows.weekly_creators(monday, creators, start_date=START)
    built["weekly_creators", "2025-03-03"] = wc
    built["weekly_summary", "2025-03-03"] = windows.weekly_summary(
        monday, hourly, videos, countries, creators=wc, start_date=START
    )
    assert len(built) == 13
    for (asset, k), doc in built.items():
        want = (FILES / _key(asset, k)).read_bytes()
        assert ASSET_FILES[asset].encode(doc) == want, f"{asset} {k}"


@pytest.mark.e2e
def test_collect_and_rebuild_write_the_golden_files(monkeypatch, tmp_path):
    """The whole path: simulator over HTTP -> client -> frames -> IO manager -> files. Then
    `rebuild` without the API (nothing listens at its address) writes every derived file
    again from the raw extracts alone, byte for byte, the week included."""
    with simulator_server() as (_, base_url):
        env = pipeline_env(
            monkeypatch,
            tmp_path,
            base_url,
            STREAM_STATS_START_DATE=FIRST,
            STREAM_STATS_TOP_VIDEOS="300",
        )
        collected = stream_stats("collect")
    root = Path(env["STREAM_STATS_LOCAL_DIR"])
    assert_golden(root)

    before = stored_files(root)
    # raw: the facts and the catalogue snapshot (a raw asset whose file sits with the costs)
    derived = {k: v for k, v in before.items() if "/raw/" not in k and "video-catalog" not in k}
    assert INDEX_KEY in derived and any("/weekly/" in k for k in derived), collected
    for key in derived:
        (root / "points-system-bucket" / key).unlink()
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", "http://127.0.0.1:9/client/v4")
    stream_stats("rebuild")
    assert stored_files(root) == before
    assert_golden(root)


def stream_stats(command: str) -> str:
    """`stream-stats <command>` of the golden days in a process of its own: its output."""
    argv = [sys.executable, "-m", "stream_stats_dagster.cli", command]
    done = subprocess.run(
        [*argv, "--from", FIRST, "--to", LAST], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def assert_golden(root: Path) -> None:
    keys = golden_keys(root)
    assert keys == sorted(str(p.relative_to(FILES)) for p in FILES.rglob("*.json"))
    base = root / "points-system-bucket" / "stream-stats"
    for key in keys:
        assert (base / key).read_bytes() == (FILES / key).read_bytes(), key


def default_scale_digests() -> dict[str, str]:
    lines = (HERE / "default-scale.sha256").read_text().splitlines()
    return {key: digest for digest, key in (line.split() for line in lines)}


def test_default_scale_digests_cover_the_same_files():
    """The bench (`python -m bench.golden`) checks these digests at the default scale."""
    digests = default_scale_digests()
    assert sorted(digests) == sorted(str(p.relative_to(FILES)) for p in FILES.rglob("*.json"))
    assert all(len(d) == len(hashlib.sha256().hexdigest()) for d in digests.values())


@pytest.mark.e2e
def test_a_day_failing_its_checks_publishes_nothing_and_its_neighbours_publish(
    monkeypatch, tmp_path, capsys
):
    """The last golden day's creators are served from a stale sample (they add up to less
    than the day's total): that day fails its blocking check and writes none of its files,
    its window fails too, and nothing names them; every other day of the same runs publishes
    its golden bytes. Once the API answers truly, the day converges to its golden bytes; a
    failing re-collect of it afterwards leaves every published file as it was."""
    bad = dt.date.fromisoformat(LAST)
    day_start = dt.datetime(bad.year, bad.month, bad.day, tzinfo=ZoneInfo("Asia/Seoul"))
    with simulator_server() as (sim, base_url):
        env = pipeline_env(
            monkeypatch,
            tmp_path,
            base_url,
            STREAM_STATS_START_DATE=FIRST,
            STREAM_STATS_TOP_VIDEOS="300",
            STREAM_STATS_AUTOMATION="stopped",
        )
        sim.serve_stale("creator", day_start, day_start + dt.timedelta(days=1))
        assert cli.main(["collect", "--from", FIRST, "--to", LAST]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{LAST} not published: summary" in err[0], err
        root = Path(env["STREAM_STATS_LOCAL_DIR"])
        stats = root / "points-system-bucket"
        base = stats / "stream-stats"
        published = golden_keys(root)
        golden = sorted(str(p.relative_to(FILES)) for p in FILES.rglob("*.json"))
        expected = [k for k in golden if k.startswith("raw/") or LAST not in k]
        assert published == expected
        for key in published:
            if not key.startswith(f"raw/2025-03/{LAST}"):  # that day's facts are stale
                assert (base / key).read_bytes() == (FILES / key).read_bytes(), key
        index = json.loads((stats / INDEX_KEY).read_bytes())
        assert index["daily"]["date"] == index["rolling"]["date"] == "2025-03-09"
        pointer = json.loads((stats / rolling_pointer_key("summary")).read_bytes())
        assert pointer["endDate"] == "2025-03-09"
        records = _oplog(root, LAST, "collectDailyStats")
        assert [r["success"] for r in records] == [False]
        assert "creators_and_countries_add_up_to_total" in records[0]["error"]
        assert [r["success"] for r in _oplog(root, "2025-03-09", "collectDailyStats")] == [True]

        sim.clear_faults()
        assert cli.main(["collect", "--date", LAST]) == 0
        assert_golden(root)
        before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in base.rglob("*.json")}

        sim.serve_stale("creator", day_start, day_start + dt.timedelta(days=1))
        assert cli.main(["collect", "--date", LAST]) == 1
        after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in base.rglob("*.json")}
        changed = sorted(str(p.relative_to(base)) for p in after if after[p] != before.get(p))
        assert [k for k in changed if not k.startswith("raw/")] == []


def _oplog(root: Path, day: str, operation: str) -> list[dict]:
    folder = root / "logs-bucket" / "stream-stats" / day[:7] / day
    return [json.loads(p.read_bytes()) for p in sorted(folder.glob(f"{operation}-*.json"))]
