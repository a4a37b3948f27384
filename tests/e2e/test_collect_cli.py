"""`stream-stats collect` and `rebuild` end to end: the real client over loopback HTTP
against the simulator, local-directory storage, a real Dagster instance on disk."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.files import ASSET_FILES
from stream_stats_dagster.keys import oplog_key
from tests.support.pipeline import stored_files

DAY = "2025-03-11"


def data_root(env):
    from pathlib import Path

    return Path(env["STREAM_STATS_LOCAL_DIR"])


def test_collect_one_day_writes_every_file_and_the_log(env, capsys):
    assert cli.main(["collect", "--date", DAY]) == 0
    out = capsys.readouterr().out
    root = data_root(env)
    assert str(root) in out
    files = stored_files(root)
    for name, spec in ASSET_FILES.items():
        if spec.layout == "weekly":
            continue
        assert f"stream-stats/{spec.key(DAY).split('stream-stats/')[1]}" in files, name
    for name in ("creators", "countries", "summary"):
        assert f"stream-stats/rolling/last7days-{name}.json" in files
    summary_path = root / "points-system-bucket" / ASSET_FILES["summary"].key(DAY)
    summary = json.loads(summary_path.read_text())
    assert summary["schemaVersion"] == 1 and summary["date"] == DAY
    assert summary["uniqueViewers"] is None
    assert [t["date"] for t in summary["dailyTrend"]][-1] == DAY
    assert len(summary["hourlyTrend"]) == 24
    assert summary["hourlyTrend"][0]["hour"] == "2025-03-11T00:00:00+09:00"
    # the trend's lead days (03-05..03-10) were collected as raw extracts only
    assert ASSET_FILES["raw_creator_minutes"].key("2025-03-05") in files
    assert ASSET_FILES["creators"].key("2025-03-05") not in files
    logs = sorted((root / "logs-bucket").rglob("*.json"))
    ops = {json.loads(p.read_text())["operation"] for p in logs if f"/{DAY}/" in str(p)}
    assert ops == {"collectDailyStats", "updateRollingStats"}
    record = json.loads(next(p for p in logs if f"/{DAY}/collectDailyStats" in str(p)).read_text())
    assert record["success"] is True and record["error"] is None
    seed_fields = {"timestamp", "operation", "date", "success", "duration", "details", "error"}
    assert set(record) >= seed_fields
    assert record["details"]["totalMinutesViewed"] == summary["totalMinutesViewed"]
    key = oplog_key(dt.date.fromisoformat(DAY), "collectDailyStats", record["runId"])
    assert (root / "logs-bucket" / key).exists()


def test_recollecting_a_day_changes_no_byte(env):
    assert cli.main(["collect", "--date", DAY]) == 0
    before = stored_files(data_root(env))
    assert cli.main(["collect", "--date", DAY]) == 0
    assert stored_files(data_root(env)) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["collect", "--date", "2025-02-30"], "2025-02-30 is not a date: February 2025 has 28"),
        (["collect", "--date", "2025-2-3"], "bad date '2025-2-3': expected YYYY-MM-DD"),
        (["collect", "--from", "2025-03-11"], "--from and --to go together"),
        (["collect", "--from", "2025-03-12", "--to", "2025-03-11"], "is after"),
        (["rebuild", "--date", "2024-12-31"], "before STREAM_STATS_START_DATE"),
    ],
)
def test_bad_dates_give_one_line(env, capsys, args, expected):
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1


def test_rebuild_without_raw_names_the_missing_days(env, capsys):
    assert cli.main(["rebuild", "--date", DAY]) == 1
    out, err = capsys.readouterr()
    err = err.strip().splitlines()
    assert len(err) == 1
    assert "raw extracts not stored for 2025-03-05" in err[0] and "2025-03-11" in err[0]
    assert "FAILED" in out  # the run's own progress line


def test_half_set_configuration_is_one_line(env, monkeypatch, capsys):
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID")
    assert cli.main(["collect", "--date", DAY]) == 2
    err = capsys.readouterr().err.strip()
    expected = "CLOUDFLARE_API_TOKEN is set but CLOUDFLARE_ACCOUNT_ID is missing"
    assert err == f"stream-stats: error: {expected}"


def test_cli_process_end_to_end(env):
    """The installed console script, as an operator runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "stream_stats_dagster.cli", "collect", "--date", "2025-03-02"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "done:" in proc.stdout and "raw+daily+rolling 2025-03-02: ok" in proc.stdout
    assert "sim-token" not in proc.stdout + proc.stderr


def test_a_failed_collection_is_logged_exactly_once(env, monkeypatch, capsys):
    import dagster as dg

    from stream_stats_dagster.config import load_settings
    from stream_stats_dagster.defs.automation.sensors import record_failed_run
    from stream_stats_dagster.defs.storage_resource import StorageResource
    from stream_stats_dagster.partitions import daily_partitions, weekly_partitions

    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "not-our-account")  # 403: fails at once
    assert cli.main(["collect", "--date", "2025-03-01"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not authorized" in err[0] and "sim-token" not in err[0]
    logs = sorted((data_root(env) / "logs-bucket").rglob("*.json"))
    assert len(logs) == 1
    record = json.loads(logs[0].read_text())
    assert (record["operation"], record["date"], record["success"]) == (
        "collectDailyStats",
        "2025-03-01",
        False,
    )
    # the first of the day's fetching steps to fail names the record
    assert record["error"].split(":")[0] in ("raw_extract", "raw_uid_minutes", "video_catalog")
    # the failure sensor sees the run already logged its failure: nothing more is written
    settings = load_settings()
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(record["runId"])
        storage = StorageResource(local_dir=env["STREAM_STATS_LOCAL_DIR"])
        parts = (daily_partitions(settings), weekly_partitions(settings))
        assert record_failed_run(instance, run, "x", storage, settings, *parts) == 0
    assert len(list((data_root(env) / "logs-bucket").rglob("*.json"))) == 1


def test_dagster_cli_materializes_a_single_asset(env):
    """`dagster asset materialize ... --select creators --partition D` once upstreams exist."""
    assert cli.main(["collect", "--date", "2025-03-01"]) == 0
    target = data_root(env) / "points-system-bucket" / ASSET_FILES["creators"].key("2025-03-01")
    before = target.read_bytes()
    target.unlink()
    dagster = [sys.executable, "-m", "dagster", "asset", "materialize"]
    args = ["-m", "stream_stats_dagster.definitions", "--select", "creators"]
    proc = subprocess.run(
        [*dagster, *args, "--partition", "2025-03-01"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert target.read_bytes() == before
    missing = subprocess.run(
        [*dagster, *args, "--partition", "2025-03-20"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode != 0
    assert "raw extracts not stored for 2025-03-14, 2025-03-15" in missing.stdout + missing.stderr
    assert "select the raw group too, or launch daily_stats_job" in missing.stderr
