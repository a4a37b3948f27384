"""The `costs` group through Dagster: the simulator over loopback HTTP, local storage, a real
instance. Per-video minutes of a window, the catalogue snapshot, both reports and their
checks, per-partition metadata, byte-identical re-runs, and a missing day in one line."""

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.files import COST_FILES
from stream_stats_dagster.reports import costs
from tests.support.definitions import fresh_defs
from tests.support.pipeline import pipeline_env

DAY = "2025-03-11"
REPORTS = [dg.AssetKey(n) for n in ("stream_costs", "cold_videos")]


@pytest.fixture
def env(monkeypatch, tmp_path, sim):
    return pipeline_env(monkeypatch, tmp_path, sim[1], STREAM_STATS_AUTOMATION="stopped")


def _run(job, instance, keys, **kwargs):
    return job.execute_in_process(
        instance=instance, asset_selection=keys, raise_on_error=False, **kwargs
    )


def _stored(env, name: str, day: str = DAY) -> bytes:
    root = Path(env["STREAM_STATS_LOCAL_DIR"]) / "points-system-bucket"
    return (root / COST_FILES[name].key(day)).read_bytes()


def test_cost_reports_of_a_day(env, sim):
    # the day's raw extracts, its per-video minutes and catalogue snapshot included
    assert cli.main(["collect", "--date", DAY]) == 0
    job = fresh_defs().resolve_job_def("stream_costs_job")
    with dg.DagsterInstance.get() as instance:
        result = _run(job, instance, REPORTS, partition_key=DAY)  # fetches the window
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {
            "creators_add_up_to_platform": True,
            "no_minutes_in_window": True,
            "not_in_top_videos": True,
            "totals_add_up": True,
        }
        event = instance.get_latest_materialization_event(dg.AssetKey("stream_costs"))
        meta = event.asset_materialization.metadata
        assert event.asset_materialization.partition == DAY
        assert meta["delivery cost (USD)"].value > 0 and "storage cost per month (USD)" in meta
        cold_meta = instance.get_latest_materialization_event(
            dg.AssetKey("cold_videos")
        ).asset_materialization.metadata
        assert cold_meta["cold videos"].value > 0 and cold_meta["window days stored"].value == 11

        first = {n: _stored(env, n) for n in ("video_catalog", "stream_costs", "cold_videos")}
        assert _run(job, instance, REPORTS, partition_key=DAY).success
        assert {n: _stored(env, n) for n in first} == first  # byte-identical re-run

    cost = costs.StreamCostsDoc.model_validate_json(first["stream_costs"])
    assert costs.costs_add_up(cost) == [] and cost.platform.videosUnpriced > 0
    cold = costs.ColdVideosDoc.model_validate_json(first["cold_videos"])
    assert (cold.windowStart, cold.windowEnd) == ("2025-03-01", DAY)  # clipped at the start
    catalog = json.loads(first["video_catalog"])
    assert catalog["videoCount"] == len(catalog["columns"]["uid"]) > 3000
    platform = sim[0].platform
    end = dt.datetime(2025, 3, 11, 15, tzinfo=dt.UTC)
    views = platform.records(dt.datetime(2025, 2, 28, 15, tzinfo=dt.UTC), end)
    watched = set(views.loc[views["minutesViewed"] > 0, "uid"])
    listed = {v.uid: v for c in cold.creators for v in c.videos}
    assert listed and not set(listed) & watched
    for uid in list(listed)[:50]:
        v = platform.video(uid)
        assert v.state == "ready" and not v.deleted
    # every ready, old-enough, unwatched video of the platform is listed
    expected = {
        v.uid
        for v in platform.videos()
        if not v.deleted
        and v.state == "ready"
        and v.ready_us / 1e6 <= (end - dt.timedelta(days=30)).timestamp()
        and v.uid not in watched
    }
    assert set(listed) == expected


def test_the_window_is_fetched_and_a_missing_day_of_it_is_one_line(env):
    """The cold videos step fetches the window's days that are not stored (the first run on
    a fresh store succeeds, and a day lost from it comes back the same); a day's own input
    that is not stored fails in one line that says how to get it."""
    assert cli.main(["collect", "--date", DAY]) == 0
    job = fresh_defs().resolve_job_def("stream_costs_job")
    spec = COST_FILES["raw_uid_minutes"]
    root = Path(env["STREAM_STATS_LOCAL_DIR"]) / "points-system-bucket"
    window = [f"2025-03-{d:02d}" for d in range(1, 12)]
    with dg.DagsterInstance.get() as instance:
        assert _run(job, instance, REPORTS, partition_key=DAY).success
        stored = {k: (root / spec.key(k)).read_bytes() for k in window}
        for k in ("2025-03-01", "2025-03-02"):
            (root / spec.key(k)).unlink()
        assert _run(job, instance, REPORTS, partition_key=DAY).success
        assert {k: (root / spec.key(k)).read_bytes() for k in window} == stored
        (root / COST_FILES["video_catalog"].key(DAY)).unlink()
        result = _run(job, instance, REPORTS, partition_key=DAY)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "missing video_catalog for 2025-03-11" in message
    assert "stream-stats collect --from 2025-03-11 --to 2025-03-11" in message


def test_schedule_runs_after_the_daily_job(env):
    location = fresh_defs()
    schedule = location.resolve_schedule_def("stream_costs_schedule")
    assert schedule.cron_schedule == "45 0 * * *"
    assert schedule.execution_timezone == "Asia/Seoul"
    daily = location.resolve_schedule_def("daily_stats_schedule")
    assert daily.cron_schedule == "15 0 * * *"
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2025, 3, 11, 15, 45, tzinfo=dt.UTC).astimezone(
            dt.timezone(dt.timedelta(hours=9))
        ),
        repository_def=location.get_repository_def(),
    )
    (request,) = list(schedule.evaluate_tick(context).run_requests)
    assert request.partition_key == "2025-03-11"


def test_a_failed_costs_run_writes_its_operation_log_records(env):
    """No daily raw extracts for the day: both reports fail in one line each, and each of the
    two cost operations writes its failure record once."""
    job = fresh_defs().resolve_job_def("stream_costs_job")
    with dg.instance_for_test() as instance:
        result = _run(job, instance, None, partition_key=DAY)
    assert not result.success
    folder = Path(env["STREAM_STATS_LOCAL_DIR"]) / "logs-bucket" / "stream-stats" / DAY[:7] / DAY
    records = sorted(
        (json.loads(p.read_bytes()) for p in folder.glob("*.json")), key=lambda r: r["operation"]
    )
    assert [(r["operation"], r["success"], r["runId"]) for r in records] == [
        ("collectColdVideos", False, result.run_id),
        ("collectStreamCosts", False, result.run_id),
    ]
    assert all("missing " in r["error"] and "stream-stats collect" in r["error"] for r in records)
