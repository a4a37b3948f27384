"""The operator's UI path: `dagster-webserver` + `dagster-daemon` on workspace.yaml, backfills
launched through GraphQL exactly as the UI sends them, on an empty store, and the files,
pages and operation log records they must leave behind.

- A job backfill: the UI's "Launch backfill" on `daily_stats_job` (ui-core
  `LaunchAssetChoosePartitionsDialog.onLaunchAsBackfill`, for an asset job) posts
  `launchPartitionBackfill` with the job's partition set (`<job>_partition_set`), the job's
  asset keys and the chosen partition keys (`tests/support/backfills.py`).
- An asset backfill: the same days chosen from the asset graph (issue: "Backfills that work
  the first time").

Both start four days after the start date (2025-03-01, top 300 videos), so their first run
fetches the lead days its trends and windows read, and both must write the golden bytes that
`stream-stats collect` writes for the same days. One webserver and daemon serve both: each
backfill waits for the daemon's 30 s backfill loop. The simulator is served over HTTP by
this process: the runs execute in processes the daemon's code server starts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.dates import days_between
from stream_stats_dagster.defs.jobs import DAILY_JOB
from stream_stats_dagster.files import (
    ASSET_FILES,
    COST_FILES,
    DAILY_ASSETS,
    RAW_ASSETS,
    ROLLING_ASSETS,
)
from stream_stats_dagster.keys import rolling_pointer_key
from tests.golden.regenerate import FILES
from tests.support.backfills import (
    check_statuses,
    launch_asset_backfill,
    launch_job_backfill,
    wait_for_backfill,
)
from tests.support.dagster_services import dagster_services, processes_with_home
from tests.support.pipeline import pipeline_env, simulator_server

pytestmark = [
    pytest.mark.e2e,
    # gql 4 deprecates how dagster_graphql's client passes variables; not ours to change
    pytest.mark.filterwarnings("ignore:Using variable_values:DeprecationWarning"),
]


def days(first: str, last: str) -> list[str]:
    span = days_between(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    return [day.isoformat() for day in span]


JOB_DAYS = days("2025-03-05", "2025-03-15")  # two runs: 03-05..11 and 03-12..15
JOB_LEAD = days("2025-03-01", "2025-03-04")  # 03-05's window, from the start date
ASSET_DAYS = days("2025-03-08", "2025-03-10")
ASSET_LEAD = days("2025-03-02", "2025-03-07")
MAX_PARTITIONS_PER_RUN = 7  # BackfillPolicy.multi_run(7) of the daily assets
BACKFILL_TIMEOUT = 300.0
STATS_BUCKET, LOG_BUCKET = "points-system-bucket", "logs-bucket"


@pytest.fixture
def sim():
    with simulator_server() as (simulator, base_url):
        yield simulator, base_url


@pytest.fixture
def env(monkeypatch, tmp_path, sim):
    # Schedules and sensors stopped (STREAM_STATS_AUTOMATION): only the backfills run.
    return pipeline_env(
        monkeypatch,
        tmp_path,
        sim[1],
        STREAM_STATS_AUTOMATION="stopped",
        STREAM_STATS_TOP_VIDEOS="300",
    )


def run_tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def partitions_of(run: dict) -> list[str]:
    tags = run_tags(run)
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    return days(
        tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]
    )


def golden_files_written(root: Path, covered: list[str]) -> list[str]:
    """Keys of golden files of the days a backfill wrote (`covered`: its days and lead days)
    that it wrote with other bytes or not at all. The week is not in a daily backfill."""
    wrong = []
    base = root / STATS_BUCKET / "stream-stats"
    for path in sorted(FILES.rglob("*.json")):
        key = str(path.relative_to(FILES))
        if key.startswith("weekly/") or not any(day in key for day in covered):
            continue
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


def backfill_succeeded(services, backfill_id: str) -> dict:
    started = time.monotonic()
    backfill = wait_for_backfill(services, backfill_id, BACKFILL_TIMEOUT)
    print(f"backfill {backfill_id}: {backfill['status']} in {time.monotonic() - started:.1f} s")
    failed = [r for r in backfill["runs"] if r["status"] != "SUCCESS"]
    assert backfill["status"] == "COMPLETED_SUCCESS" and not failed, (
        f"{backfill}\n{services.logs()}"
    )
    return backfill


def check_job_backfill(backfill: dict, backfill_id: str, root: Path) -> None:
    """What the UI's job backfill of JOB_DAYS leaves: its runs, files and log records."""
    runs = backfill["runs"]
    # a job backfill (not a pure asset backfill) of the job's partition set
    assert backfill["isAssetBackfill"] is False
    assert backfill["partitionSetName"] == f"{DAILY_JOB}_partition_set"
    assert backfill["numPartitions"] == len(JOB_DAYS)
    # batched by the backfill policy: ranges of at most 7 days, each day exactly once
    assert runs and all(r["jobName"] == DAILY_JOB for r in runs)
    covered = [day for run in runs for day in partitions_of(run)]
    assert all(len(partitions_of(r)) <= MAX_PARTITIONS_PER_RUN for r in runs)
    assert sorted(covered) == JOB_DAYS, covered
    expected_runs = -(-len(JOB_DAYS) // MAX_PARTITIONS_PER_RUN)
    assert len(runs) == expected_runs, [partitions_of(r) for r in runs]
    assert all(run_tags(r).get("dagster/backfill") == backfill_id for r in runs)
    assert all(len(r["assetSelection"]) == 15 for r in runs)  # raw + daily + rolling

    # every file of every day, and the rolling pointer at the newest window
    stats = root / STATS_BUCKET
    missing = [
        spec.key(day)
        for day in JOB_DAYS
        for spec in ASSET_FILES.values()
        if spec.layout != "weekly" and not (stats / spec.key(day)).is_file()
    ]
    assert not missing, missing
    for name in ("creators", "countries", "summary"):
        pointer = json.loads((stats / rolling_pointer_key(name)).read_text())
        assert pointer["endDate"] == JOB_DAYS[-1], name
    summary = json.loads((stats / ASSET_FILES["summary"].key(JOB_DAYS[-1])).read_text())
    assert [t["date"] for t in summary["dailyTrend"]] == JOB_DAYS[-7:]

    # one successful collectDailyStats record per day, written by the backfill's run(s)
    run_ids = {r["runId"] for r in runs}
    for day in JOB_DAYS:
        folder = root / LOG_BUCKET / "stream-stats" / day[:7] / day
        records = [json.loads(p.read_text()) for p in folder.glob("collectDailyStats-*.json")]
        assert len(records) == 1, (day, records)
        [record] = records
        assert record["success"] is True and record["error"] is None, record
        assert record["date"] == day and record["runId"] in run_ids
        assert record["details"]["totalMinutesViewed"] is not None


ALL_DAYS = days("2025-03-01", "2025-03-15")
BAD_DAY = "2025-03-09"  # its creators come from a stale sample in the asset backfill


def check_costs_from_day_one(services, root: Path, day: str) -> None:
    client = services.client()
    run_id = client.submit_job_execution(
        "stream_costs_job", tags={"dagster/partition": day, "dagster/from_ui": "true"}
    )

    def finished():
        status = client.get_run_status(run_id)
        return status if status.value in ("SUCCESS", "FAILURE", "CANCELED") else None

    status = services.wait_until(f"costs run {run_id}", finished, BACKFILL_TIMEOUT, interval=1.0)
    assert status.value == "SUCCESS", services.logs()
    spec = COST_FILES["raw_uid_minutes"]
    window = days("2025-03-01", day)  # from the start date: the 30-day window, clipped
    assert [d for d in window if not (root / STATS_BUCKET / spec.key(d)).exists()] == []
    for name in ("stream_costs", "cold_videos"):
        assert (root / STATS_BUCKET / COST_FILES[name].key(day)).exists(), name
    folder = root / LOG_BUCKET / "stream-stats" / day[:7] / day
    ops = {
        r["operation"]: r["success"]
        for r in (json.loads(p.read_text()) for p in folder.glob("*.json"))
        if r["runId"] == run_id
    }
    assert ops == {"collectStreamCosts": True, "collectColdVideos": True}, ops


def statuses(services, asset: str) -> dict[str, dict[str, str]]:
    """Each partitioned check's status per day of ALL_DAYS, as the check pages show it."""
    found = check_statuses(services, asset, ALL_DAYS)
    found.pop("freshness_check", None)  # the sensor's, not per day
    return found


def assert_statuses(services, asset: str, expected: dict[str, str]) -> None:
    """Every check of `asset` has `expected[day]` on each day (missing days: "MISSING");
    a failed day's checks that passed point at the materialization that stayed."""
    for check, by_day in statuses(services, asset).items():
        want = {d: expected.get(d, "MISSING") for d in ALL_DAYS}
        if check not in ("creators_and_countries_add_up_to_total",):
            want = {d: "SUCCEEDED" if s == "FAILED" else s for d, s in want.items()}
        assert by_day == want, (asset, check)


def test_job_and_asset_backfills_from_the_ui_on_an_empty_store(env, sim, tmp_path):
    root = Path(env["STREAM_STATS_LOCAL_DIR"])
    home = tmp_path / "dagster_home"
    with dagster_services(os.environ, home) as services:
        print(f"services ready: {services.timings}")
        # webserver, daemon and their code servers: what the exit check finds gone
        assert len(processes_with_home(services.home)) >= 4

        backfill_id = launch_job_backfill(services, DAILY_JOB, JOB_DAYS)
        check_job_backfill(backfill_succeeded(services, backfill_id), backfill_id, root)
        assert golden_files_written(root, [*JOB_LEAD, *JOB_DAYS]) == [], "job backfill"
        # the lead days are recorded as materializations of the raw assets
        assert set(JOB_LEAD) <= set(day_pages(home, "raw_creator_minutes"))
        passed = dict.fromkeys(JOB_DAYS, "SUCCEEDED")
        for asset in ("creators", "summary", "rolling_summary"):
            assert_statuses(services, asset, passed)

        # a collect range in the same instance: its days' checks are linked to its files
        assert cli.main(["collect", "--from", JOB_LEAD[0], "--to", JOB_LEAD[-1]]) == 0
        passed = dict.fromkeys(ALL_DAYS, "SUCCEEDED")
        for asset in ("creators", "summary", "rolling_summary"):
            assert_statuses(services, asset, passed)

        shutil.rmtree(root)  # an empty store again
        assets = [*RAW_ASSETS, *DAILY_ASSETS, *ROLLING_ASSETS]
        start = dt.datetime.fromisoformat(f"{BAD_DAY}T00:00:00+09:00")
        simulator, _ = sim
        simulator.serve_stale("creator", start, start + dt.timedelta(days=1))
        backfill_id = launch_asset_backfill(services, assets, ASSET_DAYS)
        backfill = wait_for_backfill(services, backfill_id, BACKFILL_TIMEOUT)
        assert [r["status"] for r in backfill["runs"]] == ["FAILURE"], backfill
        # the bad day wrote none of its files; its neighbours published theirs (the day
        # before it its golden bytes; the day after it reads the bad day's facts in its trend)
        stats = root / STATS_BUCKET
        written = {
            d: [n for n in DAILY_ASSETS if (stats / ASSET_FILES[n].key(d)).exists()]
            for d in ASSET_DAYS
        }
        assert written == {**dict.fromkeys(ASSET_DAYS, DAILY_ASSETS), BAD_DAY: []}
        assert golden_files_written(root, [*ASSET_LEAD, ASSET_DAYS[0]]) == [], "asset backfill"
        assert_statuses(services, "summary", {**passed, BAD_DAY: "FAILED"})
        windows = {**passed, BAD_DAY: "FAILED", "2025-03-10": "FAILED"}
        assert_statuses(services, "rolling_summary", windows)

        # a later good run of those days: their checks pass, linked to their new files
        simulator.clear_faults()
        assert cli.main(["collect", "--from", BAD_DAY, "--to", ASSET_DAYS[-1]]) == 0
        for asset in ("creators", "summary", "rolling_summary"):
            assert_statuses(services, asset, passed)

        # costs from day one: the costs job launched as the UI launches a job, on a store
        # with no per-video minutes at all, fetches its 30-day window itself and succeeds
        check_costs_from_day_one(services, root, ASSET_DAYS[-1])

    assert set(ASSET_LEAD) <= set(day_pages(home, "raw_creator_minutes"))
    # each day's page shows that day's numbers, equal to its file
    creators, summaries = day_pages(home, "creators"), day_pages(home, "summary")
    for day in ASSET_DAYS:
        doc = json.loads((root / STATS_BUCKET / ASSET_FILES["creators"].key(day)).read_bytes())
        assert creators[day]["creators"] == len(doc["creators"]), day
        summary = json.loads((root / STATS_BUCKET / ASSET_FILES["summary"].key(day)).read_bytes())
        assert summaries[day]["total minutes"] == summary["totalMinutesViewed"], day
        assert summaries[day]["total views"] == summary["totalViewCount"], day
