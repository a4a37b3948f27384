"""The daily schedule's ticks and the weekly automation condition, at KST times."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from tests.support.definitions import load_definitions

KST = ZoneInfo("Asia/Seoul")
WEEK_INPUTS = [
    "raw_creator_minutes",
    "raw_country_minutes",
    "raw_video_minutes",
    "raw_hourly_minutes",
]


@pytest.fixture(scope="module")
def defs():
    with pytest.MonkeyPatch.context() as monkeypatch:
        return load_definitions(
            monkeypatch, STREAM_STATS_START_DATE="2025-01-01", STREAM_STATS_AUTOMATION="stopped"
        )


def kst(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=KST)


@pytest.mark.parametrize(
    ("tick", "partition"),
    [
        (kst(2025, 3, 12, 0, 15), "2025-03-11"),  # 2025-03-11 15:15 UTC: seed's `15 15 * * *`
        (kst(2025, 1, 1, 0, 15), "2024-12-31"),
        (kst(2025, 3, 3, 0, 15), "2025-03-02"),
    ],
)
def test_daily_schedule_requests_yesterday_at_0015_kst(defs, tick, partition):
    schedule = defs.resolve_schedule_def("daily_stats_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("15 0 * * *", "Asia/Seoul")
    context = dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    )
    result = schedule.evaluate_tick(context)
    if partition < "2025-01-01":  # before the first partition: nothing to run
        assert not result.run_requests
        return
    assert [r.partition_key for r in result.run_requests] == [partition]


def test_schedules_and_sensors_running_unless_stopped():
    with pytest.MonkeyPatch.context() as monkeypatch:
        running = load_definitions(monkeypatch)
    assert running.resolve_schedule_def("daily_stats_schedule").default_status == (
        dg.DefaultScheduleStatus.RUNNING
    )
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in running.sensors)
    with pytest.MonkeyPatch.context() as monkeypatch:
        stopped = load_definitions(monkeypatch, STREAM_STATS_AUTOMATION="stopped")
    assert all(s.default_status == dg.DefaultSensorStatus.STOPPED for s in stopped.sensors)


def land(instance: dg.DagsterInstance, days: list[str]) -> None:
    for asset in WEEK_INPUTS:
        for day in days:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=day))


def weekly_requests(result) -> dict[str, list[str]]:
    return {
        key.to_user_string(): sorted(result.get_requested_partitions(key))
        for key in (dg.AssetKey("weekly_creators"), dg.AssetKey("weekly_summary"))
        if result.get_requested_partitions(key)
    }


def test_weekly_waits_for_a_late_sunday_then_runs_exactly_once(defs):
    week = [f"2025-03-{d:02d}" for d in range(3, 10)]  # Monday 03-03 .. Sunday 03-09
    with dg.instance_for_test() as instance:
        land(instance, week[:-1])  # Sunday has not landed yet
        cursor = None

        def evaluate(at: dt.datetime):
            nonlocal cursor
            result = dg.evaluate_automation_conditions(
                defs=defs,
                instance=instance,
                asset_selection=dg.AssetSelection.groups("weekly"),
                evaluation_time=at,
                cursor=cursor,
            )
            cursor = result.cursor
            return weekly_requests(result)

        assert evaluate(kst(2025, 3, 10, 0, 10)) == {}  # before Monday 00:20
        assert evaluate(kst(2025, 3, 10, 0, 25)) == {}  # Sunday late: wait
        assert evaluate(kst(2025, 3, 10, 0, 40)) == {}
        land(instance, week[-1:])  # Sunday lands at 00:45
        assert evaluate(kst(2025, 3, 10, 0, 46)) == {
            "weekly_creators": ["2025-03-03"],
            "weekly_summary": ["2025-03-03"],
        }
        assert evaluate(kst(2025, 3, 10, 0, 50)) == {}  # exactly once
        assert evaluate(kst(2025, 3, 10, 6, 0)) == {}


def test_weekly_runs_at_0020_when_all_days_landed_before(defs):
    week = [f"2025-03-{d:02d}" for d in range(3, 10)]
    with dg.instance_for_test() as instance:
        land(instance, week)
        cursor = None
        seen = []
        for at in (kst(2025, 3, 10, 0, 16), kst(2025, 3, 10, 0, 21), kst(2025, 3, 10, 0, 30)):
            result = dg.evaluate_automation_conditions(
                defs=defs,
                instance=instance,
                asset_selection=dg.AssetSelection.groups("weekly"),
                evaluation_time=at,
                cursor=cursor,
            )
            cursor = result.cursor
            seen.append(weekly_requests(result))
        assert seen[0] == {} and seen[2] == {}
        assert seen[1] == {"weekly_creators": ["2025-03-03"], "weekly_summary": ["2025-03-03"]}
