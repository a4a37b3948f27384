"""The fact store only grows more certain (issue "Nothing lost"): a re-collect whose answer
holds less than the stored day is refused for that day and touches nothing; an explicit
`--accept-shrink` lets it through, keeping the replaced files as revisions that
`restore-raw` puts back; an empty answer for a day never stored is kept, with a warning."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.files import ASSET_FILES, COST_FILES, RAW_ASSETS
from tests.support.pipeline import pipeline_env, simulator_server

pytestmark = pytest.mark.e2e

DAY, NEW_DAY = "2025-03-02", "2025-03-03"
STATS, LOGS = "points-system-bucket", "logs-bucket"


def bounds(day: str) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.fromisoformat(day).replace(tzinfo=ZoneInfo("Asia/Seoul"))
    return start, start + dt.timedelta(days=1)


def files(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every stored report and raw file with its modification time and bytes."""
    base = root / STATS
    return {
        str(p.relative_to(base)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(base.rglob("*.json"))
        if "/cache/" not in str(p)
    }


def records(root: Path, day: str) -> list[dict]:
    folder = root / LOGS / "stream-stats" / day[:7] / day
    return [json.loads(p.read_bytes()) for p in sorted(folder.glob("*.json"))]


@pytest.fixture
def world(monkeypatch, tmp_path):
    with simulator_server() as (sim, base_url):
        env = pipeline_env(monkeypatch, tmp_path, base_url, STREAM_STATS_AUTOMATION="stopped")
        yield sim, Path(env["STREAM_STATS_LOCAL_DIR"])


def test_an_empty_answer_never_replaces_a_stored_day(world, capsys):
    sim, root = world
    assert cli.main(["collect", "--date", DAY]) == 0
    before = files(root)
    minutes = json.loads((root / STATS / ASSET_FILES["summary"].key(DAY)).read_bytes())[
        "totalMinutesViewed"
    ]
    capsys.readouterr()

    sim.serve_empty(*bounds(DAY))
    assert cli.main(["collect", "--date", DAY]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert f"{DAY} refused: Cloudflare now answers 0 minutes" in line, line
    assert "fewer minutes and creators rows and countries rows" in line, line
    assert f"than the stored {minutes:,} minutes" in line and "--accept-shrink" in line, line
    assert files(root) == before  # not a byte, not a modification time
    refusals = [r for r in records(root, DAY) if not r["success"]]
    assert len(refusals) == 1 and "refused" in refusals[0]["error"], refusals

    # on purpose: replaced, the previous version kept as a revision...
    assert cli.main(["collect", "--date", DAY, "--accept-shrink"]) == 0
    raw = json.loads((root / STATS / ASSET_FILES["raw_creator_minutes"].key(DAY)).read_bytes())
    assert raw["rows"] == []
    revisions = sorted((root / STATS / "stream-stats/raw/revisions").rglob("*.json"))
    assert len(revisions) == len(RAW_ASSETS) + 1, revisions  # and the per-video minutes

    # ...which restore-raw puts back, and a rebuild re-derives the day's files from it
    capsys.readouterr()
    assert cli.main(["restore-raw", "--date", DAY]) == 0
    out = capsys.readouterr().out
    assert f"restored 6 raw file(s) of {DAY}" in out and f"rebuild --from {DAY}" in out
    for spec in [*(ASSET_FILES[name] for name in RAW_ASSETS), COST_FILES["raw_uid_minutes"]]:
        key = spec.key(DAY).removeprefix("stream-stats/")
        assert (root / STATS / "stream-stats" / key).read_bytes() == before[f"stream-stats/{key}"][
            1
        ]
    assert cli.main(["rebuild", "--date", DAY]) == 0
    after = files(root)
    assert {k: v[1] for k, v in after.items() if k in before} == {
        k: v[1] for k, v in before.items()
    }


def test_an_empty_answer_for_a_new_day_is_kept_with_a_warning(world, capsys):
    sim, root = world
    sim.serve_empty(*bounds(NEW_DAY))
    assert cli.main(["collect", "--date", NEW_DAY]) == 0
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if "warning:" in line]
    assert warnings == [
        f"  warning: {NEW_DAY}: Cloudflare answered no views for this day; kept as it is"
    ]
    summary = json.loads((root / STATS / ASSET_FILES["summary"].key(NEW_DAY)).read_bytes())
    assert summary["totalMinutesViewed"] == 0
