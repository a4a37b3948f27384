"""Each day's own truth in Dagster: a 3-day run records each day's metadata (its key, bytes,
whether its file changed, its numbers) and each day's check evaluations on that day's
partition, and nothing on no partition; a second run of the same days says unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.defs.checks import CHECKS
from stream_stats_dagster.files import ASSET_FILES, DAILY_ASSETS, RAW_ASSETS, ROLLING_ASSETS
from tests.support.pipeline import pipeline_env, simulator_server

pytestmark = pytest.mark.e2e

DAYS = ["2025-03-01", "2025-03-02", "2025-03-03"]
BUCKET = "points-system-bucket"


@pytest.fixture
def collected(monkeypatch, tmp_path):
    with simulator_server() as (_, base_url):
        env = pipeline_env(monkeypatch, tmp_path, base_url, STREAM_STATS_AUTOMATION="stopped")
        assert cli.main(["collect", "--from", DAYS[0], "--to", DAYS[-1]]) == 0
        yield env


def test_each_day_shows_its_own_numbers_and_checks(collected):
    root = Path(collected["STREAM_STATS_LOCAL_DIR"]) / BUCKET
    with dg.DagsterInstance.from_config(collected["DAGSTER_HOME"]) as instance:
        [run] = [r for r in instance.get_runs() if r.job_name == "daily_stats_job"]
        checks = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        evaluations = [e.dagster_event.event_specific_data for e in checks]
        pages = {
            (e.asset_key.path[-1], e.partition): e.metadata
            for e in (
                r.asset_materialization
                for asset in ("creators", "summary", "rolling_summary")
                for r in instance.fetch_materializations(dg.AssetKey(asset), limit=10).records
            )
        }
        every = {
            (e.asset_key.path[-1], e.partition): e.metadata
            for e in (
                r.asset_materialization
                for asset in [*RAW_ASSETS, *DAILY_ASSETS, *ROLLING_ASSETS]
                for r in instance.fetch_materializations(dg.AssetKey(asset), limit=10).records
                if r.run_id == run.run_id
            )
        }
    stray = [(e.asset_key, e.check_name) for e in evaluations if e.partition not in DAYS]
    assert stray == []  # no evaluation without a day (freshness is its sensor's, not a run's)
    for asset in ("creators", "countries", "videos_with_posts", "summary", "rolling_summary"):
        for day in DAYS:
            names = sorted(
                e.check_name
                for e in evaluations
                if (e.asset_key.path[-1], e.partition) == (asset, day)
            )
            assert names == sorted(CHECKS[asset]), (asset, day)
    for day in DAYS:
        for asset in [*RAW_ASSETS, *DAILY_ASSETS, *ROLLING_ASSETS]:
            page, path = every[asset, day], root / ASSET_FILES[asset].key(day)
            assert page["key"].value == ASSET_FILES[asset].key(day), (asset, day)
            assert page["bytes"].value == path.stat().st_size, (asset, day)
            written, unchanged = page["files_written"].value, page["files_unchanged"].value
            assert (written, unchanged) == (1, 0), (asset, day)  # a fresh store: all new
        creators = json.loads((root / ASSET_FILES["creators"].key(day)).read_bytes())
        summary = json.loads((root / ASSET_FILES["summary"].key(day)).read_bytes())
        window = json.loads((root / ASSET_FILES["rolling_summary"].key(day)).read_bytes())
        assert pages["creators", day]["creators"].value == len(creators["creators"])
        assert pages["summary", day]["total minutes"].value == summary["totalMinutesViewed"]
        assert pages["summary", day]["total views"].value == summary["totalViewCount"]
        assert pages["rolling_summary", day]["total minutes"].value == window["totalMinutesViewed"]


def test_a_run_of_the_same_facts_says_each_file_is_unchanged(collected):
    assert cli.main(["rebuild", "--from", DAYS[0], "--to", DAYS[-1]]) == 0
    with dg.DagsterInstance.from_config(collected["DAGSTER_HOME"]) as instance:
        [run] = [r for r in instance.get_runs() if r.job_name == "rebuild_daily_job"]
        pages = [
            r.asset_materialization.metadata
            for asset in [*DAILY_ASSETS, *ROLLING_ASSETS]
            for r in instance.fetch_materializations(dg.AssetKey(asset), limit=10).records
            if r.run_id == run.run_id
        ]
    assert len(pages) == len(DAYS) * 7
    assert all((p["files_written"].value, p["files_unchanged"].value) == (0, 1) for p in pages)
