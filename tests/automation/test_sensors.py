"""Late-data sensor, its follow-up, and the failure sensor's operation-log records."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from stream_stats_dagster import oplog
from stream_stats_dagster.cloudflare.client import CloudflareClient
from stream_stats_dagster.config import load_settings
from stream_stats_dagster.defs.automation import sensors as s
from stream_stats_dagster.defs.cloudflare_resource import CloudflareResource
from stream_stats_dagster.defs.storage_resource import StorageResource
from stream_stats_dagster.facts import RawExtract
from stream_stats_dagster.files import ASSET_FILES
from stream_stats_dagster.partitions import daily_partitions, weekly_partitions
from stream_stats_dagster.storage.local import LocalStore
from tests.support.definitions import load_definitions
from tests.support.pipeline import simulator_server

KST = ZoneInfo("Asia/Seoul")
BUCKET = "points-system-bucket"
NOW = dt.datetime(2025, 3, 12, 3, 0, tzinfo=KST)  # three complete days back: 03-09..03-11


@pytest.fixture
def world(tmp_path):
    settings = load_settings(
        {"STREAM_STATS_START_DATE": "2025-03-01", "STREAM_STATS_AUTOMATION": "stopped"}
    )
    store = LocalStore(tmp_path / "data")
    with simulator_server() as (sim, base_url):
        client = CloudflareClient(base_url, "sim-account", "sim-token")
        facts = client.fetch_days([dt.date(2025, 3, d) for d in (9, 10, 11)], top_videos=10)
        spec = ASSET_FILES["raw_hourly_minutes"]
        for key, day in facts.items():
            extract = RawExtract(key, day.hours, {"timezone": "Asia/Seoul"})
            store.put(BUCKET, spec.key(key), spec.encode(extract))
        yield settings, store, sim, client, base_url
        client.close()


def test_recent_days_are_the_complete_days_of_the_last_72_hours(world):
    settings = world[0]
    assert s.recent_days(NOW, settings) == [dt.date(2025, 3, d) for d in (9, 10, 11)]


def test_unchanged_days_request_nothing(world):
    settings, store, _, client, _ = world
    assert s.find_late_days(NOW, settings, client, store, BUCKET) == []


def test_changed_day_is_found_once_per_change_and_tolerance_is_respected(world):
    settings, store, sim, client, _ = world
    uid = sim.platform.uids[0]
    at = dt.datetime(2025, 3, 10, 23, 30, tzinfo=KST)  # late views for KST 03-10
    sim.platform.add_views(uid, at, minutes_viewed=1, count=1)  # within 1 minute / 0.1 %
    assert s.find_late_days(NOW, settings, client, store, BUCKET) == []
    sim.platform.add_views(uid, at, minutes_viewed=5000, count=40)
    late = s.find_late_days(NOW, settings, client, store, BUCKET)
    assert [d.day for d in late] == [dt.date(2025, 3, 10)]
    assert late[0].fresh[0] == late[0].stored[0] + 5001
    again = s.find_late_days(NOW, settings, client, store, BUCKET)
    assert again[0].run_key == late[0].run_key  # the same change: the same run key, one run
    sim.platform.add_views(uid, at, minutes_viewed=3000, count=10)
    assert s.find_late_days(NOW, settings, client, store, BUCKET)[0].run_key != late[0].run_key


def test_tolerance_rule():
    assert not s.changed_beyond_tolerance((10_000, 100), (10_010, 100))  # 0.1 %
    assert s.changed_beyond_tolerance((10_000, 100), (10_011, 100))
    assert not s.changed_beyond_tolerance((0, 0), (1, 1))
    assert s.changed_beyond_tolerance((0, 0), (2, 0))


def test_follow_up_rebuilds_the_next_days_and_the_week():
    settings = load_settings({"STREAM_STATS_START_DATE": "2025-03-01"})
    requests = s.follow_up_requests(dt.date(2025, 3, 9), dt.date(2025, 3, 12), "run1", settings)
    rebuild, week = requests
    assert rebuild.job_name == "rebuild_daily_job"
    assert rebuild.tags["dagster/asset_partition_range_start"] == "2025-03-10"
    assert rebuild.tags["dagster/asset_partition_range_end"] == "2025-03-11"
    assert (week.job_name, week.partition_key) == ("weekly_stats_job", "2025-03-03")
    # a day whose week is not over yet, and nothing after it: no request at all
    assert s.follow_up_requests(dt.date(2025, 3, 11), dt.date(2025, 3, 12), "r", settings) == []


def test_sensor_tick_requests_the_changed_day(world, monkeypatch):
    _, store, sim, _, base_url = world
    defs = load_definitions(
        monkeypatch, STREAM_STATS_START_DATE="2025-03-01", STREAM_STATS_AUTOMATION="stopped"
    )
    # the sensors' clock, in the module the definitions were just loaded from
    monkeypatch.setattr(f"{s.__name__}.utc_now", lambda: NOW.astimezone(dt.UTC))
    sensor = defs.resolve_sensor_def("late_data_sensor")
    resources = {
        "cloudflare": CloudflareResource(
            api_base_url=base_url, account_id="sim-account", api_token="sim-token"
        ),
        "storage": StorageResource(local_dir=str(store.root)),
    }
    sim.platform.add_views(sim.platform.uids[1], dt.datetime(2025, 3, 11, 12, tzinfo=KST), 900, 9)
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance, resources=resources, repository_def=defs.get_repository_def()
        ) as context,
    ):
        result = sensor.evaluate_tick(context)
    assert [(r.partition_key, r.tags[s.LATE_DATA_TAG]) for r in result.run_requests] == [
        ("2025-03-11", "2025-03-11")
    ]


def test_a_day_that_shrank_is_warned_of_once_and_never_requested(world, monkeypatch):
    """Cloudflare answers a stored day with fewer minutes (an empty answer): late data only
    adds, so no run is requested (it would be refused), and one warning record says so."""
    _, store, sim, _, base_url = world
    defs = load_definitions(
        monkeypatch, STREAM_STATS_START_DATE="2025-03-01", STREAM_STATS_AUTOMATION="stopped"
    )
    # the sensors' clock, in the module the definitions were just loaded from
    monkeypatch.setattr(f"{s.__name__}.utc_now", lambda: NOW.astimezone(dt.UTC))
    sensor = defs.resolve_sensor_def("late_data_sensor")
    resources = {
        "cloudflare": CloudflareResource(
            api_base_url=base_url, account_id="sim-account", api_token="sim-token"
        ),
        "storage": StorageResource(local_dir=str(store.root)),
    }
    start = dt.datetime(2025, 3, 10, tzinfo=KST)
    sim.serve_empty(start, start + dt.timedelta(days=1))
    for _ in range(2):
        with (
            dg.instance_for_test() as instance,
            dg.build_sensor_context(
                instance=instance, resources=resources, repository_def=defs.get_repository_def()
            ) as context,
        ):
            result = sensor.evaluate_tick(context)
        assert result.run_requests == [] and "no recent day grew" in result.skip_message
    logs = sorted((store.root / "logs-bucket").rglob("*.json"))
    [record] = [json.loads(p.read_text()) for p in logs]
    assert record["level"] == "warning" and record["date"] == "2025-03-10", record
    assert "fewer than the stored" in record["error"] and "--accept-shrink" in record["error"]


def test_failure_record_written_once(tmp_path, monkeypatch):
    settings = load_settings({"STREAM_STATS_START_DATE": "2025-03-01"})
    storage = StorageResource(local_dir=str(tmp_path / "data"))
    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(
            job_def=_defs(monkeypatch).resolve_job_def("daily_stats_job"),
            tags={"dagster/partition": "2025-03-05"},
        )
        args = (instance, run, "boom\nstack", storage, settings)
        parts = (daily_partitions(settings), weekly_partitions(settings))
        assert s.record_failed_run(*args, *parts) == 2  # collectDailyStats + updateRollingStats
        assert s.record_failed_run(*args, *parts) == 0  # never twice
    logs = sorted((tmp_path / "data" / "logs-bucket").rglob("*.json"))
    records = [json.loads(p.read_text()) for p in logs]
    assert {r["operation"] for r in records} == {oplog.COLLECT_DAILY, oplog.UPDATE_ROLLING}
    assert all(r["success"] is False and r["error"] == "run failed: boom" for r in records)
    assert all(r["date"] == "2025-03-05" and r["runId"] == run.run_id for r in records)


def _defs(monkeypatch):
    return load_definitions(
        monkeypatch, STREAM_STATS_START_DATE="2025-03-01", STREAM_STATS_AUTOMATION="stopped"
    )
