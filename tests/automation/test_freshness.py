"""Freshness: Dagster's freshness checks on yesterday's summary and last week's, and one
operation-log record per late file."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg

from stream_stats_dagster.config import load_settings
from stream_stats_dagster.defs.automation.freshness import (
    FRESHNESS_CHECK,
    late_partition,
    late_records,
)
from stream_stats_dagster.defs.storage_resource import StorageResource
from tests.support.definitions import load_definitions

SETTINGS = load_settings({"STREAM_STATS_START_DATE": "2025-03-01"})


def test_summaries_and_live_assets_have_freshness_checks_and_their_sensors(monkeypatch):
    defs = load_definitions(monkeypatch, STREAM_STATS_START_DATE="2025-03-01")
    keys = {key for checks in defs.asset_checks for key in checks.check_keys}
    fresh = ("summary", "weekly_summary", "raw_live_samples", "live_viewers", "live_drift")
    assert keys == {dg.AssetCheckKey(dg.AssetKey(a), FRESHNESS_CHECK) for a in fresh}
    names = {s.name for s in defs.sensors}
    assert {"freshness_checks_sensor", "live_freshness_checks_sensor", "late_files_log"} <= names


def _evaluate(instance: dg.DagsterInstance, asset: str, passed: bool) -> None:
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(asset),
            check_name=FRESHNESS_CHECK,
            passed=passed,
            severity=dg.AssetCheckSeverity.WARN,
        )
    )


def test_a_late_file_is_logged_once(tmp_path):
    storage = StorageResource(local_dir=str(tmp_path / "data"))
    with dg.instance_for_test() as instance:
        _evaluate(instance, "summary", passed=True)
        assert late_records(instance, storage, SETTINGS) == 0
        _evaluate(instance, "summary", passed=False)
        assert late_records(instance, storage, SETTINGS) == 1
        assert late_records(instance, storage, SETTINGS) == 0  # once
    [path] = (tmp_path / "data" / "logs-bucket").rglob("*.json")
    record = json.loads(path.read_text())
    today = dt.datetime.now(ZoneInfo(SETTINGS.timezone)).date()
    assert record["operation"] == "collectDailyStats" and record["success"] is False
    assert (
        "late" in record["error"] and record["date"] == late_partition("summary", today).isoformat()
    )


def test_the_late_partition_is_yesterday_or_last_week():
    assert late_partition("summary", dt.date(2025, 3, 12)) == dt.date(2025, 3, 11)
    assert late_partition("weekly_summary", dt.date(2025, 3, 10)) == dt.date(2025, 3, 3)


def test_a_failed_run_that_planned_a_freshness_check_is_not_an_evaluation(monkeypatch, tmp_path):
    """Materializing `summary` with all its checks (as the UI does) plans the freshness check
    too; when that run fails, the check's latest record is only planned, not evaluated: the
    late-files sensor passes over it instead of crashing."""
    data = tmp_path / "data"
    defs = load_definitions(
        monkeypatch,
        STREAM_STATS_START_DATE="2025-03-01",
        STREAM_STATS_AUTOMATION="stopped",
        STREAM_STATS_LOCAL_DIR=str(data),
    )
    key = dg.AssetCheckKey(dg.AssetKey("summary"), FRESHNESS_CHECK)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [*defs.assets, *defs.asset_checks],
            selection=dg.AssetSelection.assets("summary") | dg.AssetSelection.checks(key),
            partition_key="2025-03-05",
            instance=instance,
            resources=defs.resources,
            raise_on_error=False,
        )
        assert not result.success  # no raw extracts stored
        record = instance.get_latest_asset_check_evaluation_record(key)
        assert not isinstance(record.evaluation, dg.AssetCheckEvaluation)  # only planned
        storage = StorageResource(local_dir=str(data))
        assert late_records(instance, storage, SETTINGS) == 0
