"""End to end against a real redis-server: the simulator drives a live session that ends
just before a KST day ends (Redis's clock is moved there), the sampler samples it every
second as the read-only user, uploads the finished hour, and `live-collect` records the
hour and builds the day's `live_viewers` through Dagster.

The numbers: at every sample instant the sampled counters equal those the simulator's log
says (each change is a transaction stamped with Redis TIME), so the report's figures equal
figures computed here from the log alone, exactly; its viewer-minutes lie within
interval x peak of the log's continuous integral."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from stream_stats_dagster import cli, keys
from stream_stats_dagster.live.servers import RedisServer
from stream_stats_dagster.live.simulator import read_log
from stream_stats_dagster.reports.live import instants
from stream_stats_dagster.reports.live.document import LiveViewersDoc
from stream_stats_dagster.reports.live.drift import LiveDriftDoc
from stream_stats_dagster.reports.live.samples import HourFile
from tests.live.conftest import live_env, require_redis, simulate, start_sampler

pytestmark = pytest.mark.e2e

DAY = dt.date(2025, 3, 11)
DAY_START = instants.parse("2025-03-10T15:00:00Z")
DAY_END = instants.parse("2025-03-11T15:00:00Z")  # KST midnight
HOUR = "2025-03-11T14:00:00Z"
INTERVAL = instants.US  # 1 s


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("live-session")
    clock = dt.datetime(2025, 3, 11, 14, 59, 28, tzinfo=dt.UTC)
    server = require_redis(RedisServer(root / "redis", clock_at=clock))
    try:
        env = live_env(root, server)
        sampler = start_sampler(env, root / "sampler.out", "--for", "34")
        simulate(env, server, root / "changes.jsonl", 18)
        assert sampler.wait(timeout=90) == 0
    finally:
        server.stop()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "R2_ENDPOINT_URL"):
            mp.delenv(name, raising=False)
        (root / "dagster_home").mkdir()
        assert cli.main(["live-collect", "--date", DAY.isoformat()]) == 0
        private = root / "data" / "private-bucket"
        report_path = private / keys.live_viewers_key(DAY)
        first = report_path.read_bytes()
        assert cli.main(["live-collect", "--date", DAY.isoformat()]) == 0  # again
        with dg.DagsterInstance.get() as instance:
            events = {
                name: instance.get_latest_materialization_event(dg.AssetKey(name))
                for name in ("raw_live_samples", "live_viewers")
            }
            checks = {
                r.check_name: r.asset_check_evaluation.passed  # type: ignore[union-attr]
                for r in _check_evaluations(instance)
            }
            drift_checks = {
                e.check_name: (e.passed, e.severity.value)
                for e in _check_evaluations_of(instance, "live_drift", DRIFT_CHECKS)
            }
            drift_event = instance.get_latest_materialization_event(dg.AssetKey("live_drift"))
    hour_path = private / keys.live_samples_key(dt.datetime.fromisoformat(HOUR))
    drift_path = private / keys.live_drift_key(DAY)
    return {
        "root": root,
        "log": read_log(root / "changes.jsonl"),
        "hour": HourFile.model_validate_json(hour_path.read_bytes()),
        "hour_bytes": hour_path.read_bytes(),
        "doc": LiveViewersDoc.model_validate_json(report_path.read_bytes()),
        "first": first,
        "again": report_path.read_bytes(),
        "events": events,
        "checks": checks,
        "drift": LiveDriftDoc.model_validate_json(drift_path.read_bytes()),
        "drift_checks": drift_checks,
        "drift_event": drift_event,
        "sampler_out": (root / "sampler.out").read_text(),
    }


def _check_evaluations(instance):
    out = []
    for name in ("coverage_adds_up", "hours_add_up", "stages_consistent"):
        key = dg.AssetCheckKey(dg.AssetKey("live_viewers"), name)
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        out += [r.event.dagster_event.event_specific_data for r in records if r.event]
    return [type("E", (), {"check_name": e.check_name, "asset_check_evaluation": e}) for e in out]


DRIFT_CHECKS = ("total_vs_stages", "counters_vs_heartbeats", "counters_vs_ivs")


def _check_evaluations_of(instance, asset: str, names):
    out = []
    for name in names:
        key = dg.AssetCheckKey(dg.AssetKey(asset), name)
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        out += [r.event.dagster_event.event_specific_data for r in records if r.event]
    return out


def _state_at(log, t: int) -> tuple[int, dict[str, int], str | None]:
    """The platform's counters and publisher status after every change logged at or before
    `t` (the log holds each change's counters after it)."""
    total, stages, publisher = 0, {}, None
    for e in log:
        if instants.parse(e.at) > t:
            break
        if e.event in ("join", "leave", "timeout"):
            total, stages[e.stage] = e.total, e.viewers
        elif e.event == "publisher":
            publisher = e.status
    return total, stages, publisher


def _samples(session):
    """(instant, interval) of every sample the report reads (the day's hour file)."""
    s = session["hour"].samples
    return [(instants.parse(t), ms * 1000) for t, ms in zip(s.at, s.intervalMs, strict=True)]


def test_every_sample_is_the_logged_state_at_its_instant(session):
    hour, log = session["hour"], session["log"]
    arns = [st.stageArn for st in hour.stages]
    assert len(hour.samples.at) >= 25 and len(arns) >= 3  # auto-scaling happened
    for i, t in enumerate(hour.samples.at):
        total, stages, publisher = _state_at(log, instants.parse(t))
        assert (hour.samples.total[i] or 0) == total, t  # absent before the first join
        assert hour.samples.publisher[i] == publisher, t
        row = zip(arns, hour.samples.viewers[i], strict=True)
        assert {a: v for a, v in row if v is not None} == stages, t
    logged = {e.stage: e.info for e in log if e.event == "stage"}
    for st in hour.stages:
        info = logged[st.stageArn]
        assert (st.name, st.autoScaled, st.parentStage) == (
            info["name"],
            info["autoScaled"],
            info["parentStage"],
        )


def test_report_numbers_equal_those_computed_from_the_log(session):
    doc, log = session["doc"], session["log"]
    samples = _samples(session)
    held = []
    for i, (t, interval) in enumerate(samples):
        nxt = samples[i + 1][0] if i + 1 < len(samples) else None
        until = nxt if nxt is not None and nxt - t <= 2 * interval else t + interval
        lo, hi = max(t, DAY_START), min(until, DAY_END)
        held.append((t, max(lo, t), max(0, hi - lo)))
    states = [(_state_at(log, t), lo, h) for t, lo, h in held if h > 0]
    peak = max(s[0][0] for s in states)
    assert doc.platform.peakViewers == peak
    assert doc.platform.peakAt == instants.text(next(lo for s, lo, _ in states if s[0] == peak))
    viewer_us = sum(s[0] * h for s, _, h in states)
    assert doc.platform.viewerMinutes == round(viewer_us / 60e6, 3)
    live_us = sum(h for s, _, h in states if s[2] == "live")
    assert doc.platform.publisherLiveMinutes == round(live_us / 60e6, 3)
    most = max(sum(v > 0 for v in s[1].values()) for s, _, _ in states)
    assert doc.platform.maxStages == most
    assert doc.coverage.sampledSeconds == round(sum(h for _, _, h in states) / 1e6, 6)
    assert doc.coverage.samples == sum(DAY_START <= t < DAY_END for t, _ in samples)
    by_stage = {}
    for (_, stages, _), lo, h in states:
        for arn, v in stages.items():
            d = by_stage.setdefault(arn, {"us": 0, "pos": 0, "peak": 0, "seen": []})
            d["us"] += v * h
            d["pos"] += h if v > 0 else 0
            d["peak"] = max(d["peak"], v)
            if v > 0:
                d["seen"].append(lo)
    reported = {s.stageArn: s for s in doc.stages}
    assert set(reported) == {a for a, d in by_stage.items() if d["seen"]}
    for arn, s in reported.items():
        d = by_stage[arn]
        assert s.viewerMinutes == round(d["us"] / 60e6, 3), arn
        assert s.peakViewers == d["peak"] and s.averageViewers == round(d["us"] / d["pos"], 3)
        assert (s.firstSeen, s.lastSeen) == (
            instants.text(d["seen"][0]),
            instants.text(d["seen"][-1]),
        )


def test_viewer_minutes_are_within_interval_times_peak_of_the_continuous_integral(session):
    doc, log = session["doc"], session["log"]
    changes = [(instants.parse(e.at), e.total) for e in log if e.total is not None]
    integral, level, since = 0, 0, DAY_START
    for t, total in changes:
        t = min(max(t, DAY_START), DAY_END)
        integral += level * (t - since)
        level, since = total, t
    integral += level * (DAY_END - since)
    exact = integral / 60e6
    bound = INTERVAL / 1e6 * doc.platform.peakViewers / 60
    assert abs(doc.platform.viewerMinutes - exact) <= bound, (doc.platform.viewerMinutes, exact)
    assert exact > 1  # a session worth measuring


def test_dagster_records_the_hour_and_publishes_the_checked_day_privately(session):
    events, root = session["events"], session["root"]
    hour_meta = events["raw_live_samples"].asset_materialization.metadata
    assert events["raw_live_samples"].asset_materialization.partition == "2025-03-11-23:00"
    assert hour_meta["samples"].value == len(session["hour"].samples.at)
    assert hour_meta["bytes"].value == len(session["hour_bytes"])
    day = events["live_viewers"].asset_materialization
    assert day.partition == DAY.isoformat()
    assert day.metadata["peak viewers"].value == session["doc"].platform.peakViewers
    assert day.metadata["files_unchanged"].value == 1  # the second collect: same bytes
    assert session["checks"] == dict.fromkeys(
        ("coverage_adds_up", "hours_add_up", "stages_consistent"), True
    )
    assert session["first"] == session["again"]
    stats = root / "data" / "points-system-bucket"
    assert not list(stats.rglob("*live*"))  # private: nothing live where readers read
    assert (
        not (stats / keys.INDEX_KEY).exists() or "live" not in (stats / keys.INDEX_KEY).read_text()
    )
    logs = list((root / "data" / "logs-bucket").rglob("collectLiveViewers-*.json"))
    assert logs and all(json.loads(p.read_text())["success"] for p in logs)


def test_the_sampler_said_what_it_did_without_the_password(session):
    out = session["sampler_out"]
    assert "uploaded hour 2025-03-11T14:00Z" in out
    assert "sampler:***@127.0.0.1" in out and "sampler-password-for-tests" not in out
    assert "unreachable" not in out


def test_the_samplers_user_cannot_write(tmp_path):
    import redis

    with RedisServer(tmp_path) as server:
        client = redis.Redis.from_url(server.url())
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.set("ivs:prod:total_viewers", 1)
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.incr("ivs:prod:total_viewers")
        assert client.get("ivs:prod:total_viewers") is None  # reads work


def test_dagster_publishes_the_days_drift_privately_with_its_checks(session):
    """A healthy session: the total adds up to the stages and each counter to HLEN at every
    sample (each change is one transaction); the viewers who closed the tab are counted
    until the cleanup removes them, which only the fresh heartbeats see."""
    doc, log = session["drift"], session["log"]
    assert doc.date == DAY.isoformat() and doc.measured.samples == session["doc"].coverage.samples
    assert doc.totalVsStages.worst == 0 and doc.totalVsStages.samples > 0
    assert all(s.counterVsHeartbeats.worst == 0 and s.negative is None for s in doc.stages)
    assert doc.measured.heartbeatScans >= 1 and doc.ivs.reconciliations == 0
    assert session["drift_event"].asset_materialization.partition == DAY.isoformat()
    # evaluated for the day, WARN unless configured otherwise; the healthy ones passed
    assert set(session["drift_checks"]) == set(DRIFT_CHECKS)
    assert all(sev == "WARN" for _, sev in session["drift_checks"].values())
    assert session["drift_checks"]["total_vs_stages"][0] is True
    assert session["drift_checks"]["counters_vs_ivs"][0] is True
    stats = session["root"] / "data" / "points-system-bucket"
    assert not list(stats.rglob("*drift*"))
    assert any(e.event == "join" for e in log)
