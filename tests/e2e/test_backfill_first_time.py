"""A backfill of days with no earlier data works the first time, from the job page and from
the asset graph (issue: "Backfills that work first time").

Both are launched through Dagster's GraphQL API against a running webserver and daemon, on
an empty store, for the last three golden days (2025-03-08..10; start date 2025-03-01, top
300 videos): the runs fetch the six lead days the first day's trends and windows read
(recorded as materializations), no partition fails, and the files are the golden bytes that
`stream-stats collect` writes for the same days.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from stream_stats_dagster.defs.jobs import DAILY_JOB
from stream_stats_dagster.files import ASSET_FILES, DAILY_ASSETS, RAW_ASSETS, ROLLING_ASSETS
from tests.golden.regenerate import FILES
from tests.support.backfills import launch_asset_backfill, launch_job_backfill, wait_for_backfill
from tests.support.dagster_services import dagster_services
from tests.support.pipeline import pipeline_env, simulator_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:Using variable_values:DeprecationWarning"),
]

DAYS = ["2025-03-08", "2025-03-09", "2025-03-10"]
LEAD = ["2025-03-02", "2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06", "2025-03-07"]
BUCKET = "points-system-bucket"
TIMEOUT = 300.0


def golden_files_written(root: Path) -> list[str]:
    """Keys of golden files for these days that the backfill wrote with other bytes or not
    at all: raw extracts of the lead days and the days, daily files of 03-09 and 03-10, the
    rolling window ending 03-10."""
    wrong = []
    base = root / BUCKET / "stream-stats"
    for path in sorted(FILES.rglob("*.json")):
        key = str(path.relative_to(FILES))
        if key.startswith("weekly/") or any(d in key for d in ("03-01",)):
            continue  # the week and 03-01 are not in a backfill of 03-08..10
        target = base / key
        if not target.is_file() or target.read_bytes() != path.read_bytes():
            wrong.append(key)
    return wrong


def day_pages(home: Path, asset: str) -> dict[str, dict]:
    """The latest materialization metadata of each partition of an asset."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
        pages: dict[str, dict] = {}
        for record in records:  # newest first
            event = record.asset_materialization
            pages.setdefault(event.partition, {k: v.value for k, v in event.metadata.items()})
        return pages


@pytest.fixture
def env(monkeypatch, tmp_path):
    with simulator_server() as (_, base_url):
        yield pipeline_env(
            monkeypatch,
            tmp_path,
            base_url,
            STREAM_STATS_AUTOMATION="stopped",
            STREAM_STATS_TOP_VIDEOS="300",
        )


def test_job_and_asset_backfills_on_an_empty_store(env, tmp_path):
    root = Path(env["STREAM_STATS_LOCAL_DIR"])
    home = tmp_path / "dagster_home"
    with dagster_services(os.environ, home) as services:
        for launch in ("job", "asset graph"):
            shutil.rmtree(root, ignore_errors=True)  # an empty store each time
            if launch == "job":
                backfill_id = launch_job_backfill(services, DAILY_JOB, DAYS)
            else:
                assets = [*RAW_ASSETS, *DAILY_ASSETS, *ROLLING_ASSETS]
                backfill_id = launch_asset_backfill(services, assets, DAYS)
            backfill = wait_for_backfill(services, backfill_id, TIMEOUT)
            failed = [r for r in backfill["runs"] if r["status"] != "SUCCESS"]
            assert backfill["status"] == "COMPLETED_SUCCESS" and not failed, (
                f"{launch}: {backfill}\n{services.logs()}"
            )
            assert golden_files_written(root) == [], launch

    # the lead days are recorded as materializations of the raw assets
    assert set(LEAD) <= set(day_pages(home, "raw_creator_minutes"))
    # each day's page shows that day's numbers, equal to its file
    creators, summaries = day_pages(home, "creators"), day_pages(home, "summary")
    for day in DAYS:
        doc = json.loads((root / BUCKET / ASSET_FILES["creators"].key(day)).read_bytes())
        assert creators[day]["creators"] == len(doc["creators"]), day
        summary = json.loads((root / BUCKET / ASSET_FILES["summary"].key(day)).read_bytes())
        assert summaries[day]["total minutes"] == summary["totalMinutesViewed"], day
        assert summaries[day]["total views"] == summary["totalViewCount"], day
