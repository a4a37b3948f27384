"""The operator's UI path: `dagster-webserver` + `dagster-daemon` on workspace.yaml, a backfill
of `daily_stats_job` launched through GraphQL exactly as the UI's "Launch backfill" button
sends it, and the files and operation log records it must leave behind.

The UI (ui-core `LaunchAssetChoosePartitionsDialog.onLaunchAsBackfill`, for an asset job)
posts `launchPartitionBackfill` with the job's partition set (`<job>_partition_set`), the
job's asset keys and the chosen partition keys (`tests/support/backfills.py`). The simulator
is served over HTTP by this process: the runs execute in processes the daemon's code server
starts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest

from stream_stats_dagster.defs.jobs import DAILY_JOB
from stream_stats_dagster.files import ASSET_FILES
from stream_stats_dagster.keys import rolling_pointer_key
from tests.support.backfills import launch_job_backfill, wait_for_backfill
from tests.support.dagster_services import dagster_services, processes_with_home
from tests.support.pipeline import pipeline_env, simulator_server

pytestmark = [
    pytest.mark.e2e,
    # gql 4 deprecates how dagster_graphql's client passes variables; not ours to change
    pytest.mark.filterwarnings("ignore:Using variable_values:DeprecationWarning"),
]

FIRST, LAST = dt.date(2025, 3, 1), dt.date(2025, 3, 11)  # from the start date: trends complete
DAYS = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range((LAST - FIRST).days + 1)]
MAX_PARTITIONS_PER_RUN = 7  # BackfillPolicy.multi_run(7) of the daily assets
BACKFILL_TIMEOUT = 240.0
STATS_BUCKET, LOG_BUCKET = "points-system-bucket", "logs-bucket"


@pytest.fixture
def env(monkeypatch, tmp_path):
    with simulator_server() as (_, base_url):
        # Schedules and sensors stopped (STREAM_STATS_AUTOMATION): only the backfill runs.
        yield pipeline_env(monkeypatch, tmp_path, base_url, STREAM_STATS_AUTOMATION="stopped")


def run_tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def partitions_of(run: dict) -> list[str]:
    tags = run_tags(run)
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    start = dt.date.fromisoformat(tags["dagster/asset_partition_range_start"])
    end = dt.date.fromisoformat(tags["dagster/asset_partition_range_end"])
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def test_backfill_of_eleven_days_from_the_ui(env, tmp_path):
    root = Path(env["STREAM_STATS_LOCAL_DIR"])
    with dagster_services(os.environ, tmp_path / "dagster_home") as services:
        print(f"services ready: {services.timings}")
        # webserver, daemon and their code servers: what the exit check finds gone
        assert len(processes_with_home(services.home)) >= 4
        started = time.monotonic()
        backfill_id = launch_job_backfill(services, DAILY_JOB, DAYS)
        backfill = wait_for_backfill(services, backfill_id, BACKFILL_TIMEOUT)
        elapsed = time.monotonic() - started
        runs = backfill["runs"]
        print(
            f"backfill {backfill_id}: {backfill['status']} in {elapsed:.1f} s, {len(runs)} run(s)"
        )
        failed = [r for r in runs if r["status"] != "SUCCESS"]
        assert backfill["status"] == "COMPLETED_SUCCESS" and not failed, (
            f"{backfill}\n{services.logs()}"
        )

    # a job backfill (not a pure asset backfill) of the job's partition set
    assert backfill["isAssetBackfill"] is False
    assert backfill["partitionSetName"] == f"{DAILY_JOB}_partition_set"
    assert backfill["numPartitions"] == len(DAYS)
    # batched by the backfill policy: ranges of at most 7 days, each day exactly once
    assert runs and all(r["jobName"] == DAILY_JOB for r in runs)
    covered = [day for run in runs for day in partitions_of(run)]
    assert all(len(partitions_of(r)) <= MAX_PARTITIONS_PER_RUN for r in runs)
    assert sorted(covered) == DAYS, covered
    expected_runs = -(-len(DAYS) // MAX_PARTITIONS_PER_RUN)
    assert len(runs) == expected_runs, [partitions_of(r) for r in runs]
    assert all(run_tags(r).get("dagster/backfill") == backfill_id for r in runs)
    assert all(len(r["assetSelection"]) == 12 for r in runs)  # raw + daily + rolling

    # every file of every day, and the rolling pointer at the newest window
    stats = root / STATS_BUCKET
    missing = [
        spec.key(day)
        for day in DAYS
        for spec in ASSET_FILES.values()
        if spec.layout != "weekly" and not (stats / spec.key(day)).is_file()
    ]
    assert not missing, missing
    for name in ("creators", "countries", "summary"):
        pointer = json.loads((stats / rolling_pointer_key(name)).read_text())
        assert pointer["endDate"] == DAYS[-1], name
    summary = json.loads((stats / ASSET_FILES["summary"].key(DAYS[-1])).read_text())
    assert [t["date"] for t in summary["dailyTrend"]] == DAYS[-7:]

    # one successful collectDailyStats record per day, written by the backfill's run(s)
    run_ids = {r["runId"] for r in runs}
    for day in DAYS:
        folder = root / LOG_BUCKET / "stream-stats" / day[:7] / day
        records = [json.loads(p.read_text()) for p in folder.glob("collectDailyStats-*.json")]
        assert len(records) == 1, (day, records)
        [record] = records
        assert record["success"] is True and record["error"] is None, record
        assert record["date"] == day and record["runId"] in run_ids
        assert record["details"]["totalMinutesViewed"] is not None
