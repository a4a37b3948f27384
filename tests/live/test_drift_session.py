"""The four failure modes of seed 003 injected into a live session on a real redis-server,
sampled by the sampler as the read-only user, and `live_drift` naming each at its size.

One session, every mode on at its own time: an API restart resets the busiest stage's
counter (stage R) at 10 s; the writes to another stage's counter are lost from 14 s (stage
D, decoupled from the total); leaves are never sent in [20, 26) s while the cleanup is
stopped in [20, 37) s (the silent viewers stay counted until it resumes). Samples every
second, heartbeats every second, heartbeat scans every 2 s with a 5-second freshness (the
platform's 15 s, 30 s, 60 s and 60 s scaled down, with room for a loaded machine). The log
holds every change with the counters and HLEN after it, so the numbers the report must show
at each sample are computed here from the log."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from stream_stats_dagster.live.servers import RedisServer
from stream_stats_dagster.live.simulator import read_log
from stream_stats_dagster.live.spool import Spool
from stream_stats_dagster.reports.live import drift, instants
from stream_stats_dagster.reports.live.samples import build_hour
from tests.live.conftest import live_env, require_redis, simulate, start_sampler

pytestmark = pytest.mark.e2e

DAY = dt.date(2025, 3, 11)
SCAN = 2 * instants.US
FRESH = 5 * instants.US
HEARTBEAT = 1 * instants.US


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("drift-session")
    clock = dt.datetime(2025, 3, 11, 5, 10, 0, tzinfo=dt.UTC)  # 14:10 KST, mid-hour
    server = require_redis(RedisServer(root / "redis", clock_at=clock))
    try:
        env = live_env(root, server, LIVE_HEARTBEAT_SCAN_SECONDS="2", LIVE_FRESH_SECONDS="5")
        sampler = start_sampler(env, root / "sampler.out", "--for", "52")
        simulate(
            env,
            server,
            root / "changes.jsonl",
            38,
            heartbeat=1,
            silent=5,
            cleanup=1,
            **{
                "vanish-share": 0,
                "reset-at": 10,
                "decouple-at": 14,
                "no-leaves": "20:26",
                "cleanup-stopped": "20:37",
            },
        )
        assert sampler.wait(timeout=120) == 0
    finally:
        server.stop()
    spool = Spool(root / "spool")
    hours = [build_hour(spool.lines(h), h, "Asia/Seoul", "ivs:prod:") for h in spool.hours()]
    doc = drift.live_drift(DAY, "Asia/Seoul", hours)
    at = [instants.parse(t) for h in hours for t in h.samples.at]
    return {"log": read_log(root / "changes.jsonl"), "doc": doc, "at": at, "hours": hours}


def _states(log, times):
    """(total, counters, HLEN) after every change logged at or before each instant."""
    out, total, counters, hlen, i = [], 0, {}, {}, 0
    for t in times:
        while i < len(log) and instants.parse(log[i].at) <= t:
            e = log[i]
            if e.event in ("join", "leave", "timeout", "reset"):
                total, counters[e.stage], hlen[e.stage] = e.total, e.viewers, e.heartbeats
            i += 1
        out.append((total, dict(counters), dict(hlen)))
    return out


def _after(times, t):
    return next(x for x in times if x > t)


def _one(log, event):
    (e,) = [e for e in log if e.event == event]
    return e, instants.parse(e.at)


def _worst(values):
    return max(values, key=abs)


def test_the_reset_counter_is_named_at_its_size_from_the_next_sample(session):
    log, doc, times = session["log"], session["doc"], session["at"]
    reset, reset_at = _one(log, "reset")
    assert reset.lost >= 5  # a stage with viewers lost its counter
    start = _after(times, reset_at)  # the first sample after it: within one sample step
    assert start - reset_at <= 10 * instants.US  # a generous bound on that step
    t = doc.totalVsStages
    first = min(t.largest, key=lambda e: e.start)
    assert (instants.parse(first.start), first.first) == (start, reset.lost)
    stage = {s.stageArn: s for s in doc.stages}[reset.stage]
    hb = min(stage.counterVsHeartbeats.largest, key=lambda e: e.start)
    assert (instants.parse(hb.start), hb.first) == (start, -reset.lost)
    # the drift lasts: it is there until the last sample
    last = max(t.largest, key=lambda e: e.end)
    assert instants.parse(last.end) - times[-1] <= 2 * instants.US
    # its viewers leave and DECR the counter below zero
    states = _states(log, times)
    lowest = min(c.get(reset.stage, 0) for _, c, _ in states)
    assert lowest == -reset.lost and stage.negative.lowest == lowest
    first_negative = next(
        x for x, (_, c, _) in zip(times, states, strict=True) if c.get(reset.stage, 0) < 0
    )
    assert stage.negative.first == instants.text(first_negative)


def test_the_total_against_the_stages_is_the_logged_difference_at_every_sample(session):
    log, doc, times = session["log"], session["doc"], session["at"]
    diffs = [total - sum(c.values()) for total, c, _ in _states(log, times)]
    assert doc.totalVsStages.worst == _worst(diffs)
    assert doc.totalVsStages.driftSamples == sum(1 for d in diffs if d)


def test_the_decoupled_stage_is_named_from_its_first_lost_write(session):
    log, doc, times = session["log"], session["doc"], session["at"]
    decouple, decouple_at = _one(log, "decouple")
    lost = [
        instants.parse(e.at)
        for e in log
        if e.stage == decouple.stage
        and e.event in ("join", "leave", "timeout")
        and instants.parse(e.at) > decouple_at
    ]
    assert lost  # its viewers came and went while their writes were lost
    stage = {s.stageArn: s for s in doc.stages}[decouple.stage]
    hb = stage.counterVsHeartbeats
    first = min(hb.largest, key=lambda e: e.start)
    assert instants.parse(first.start) == _after(times, lost[0])
    states = _states(log, times)
    expected = [c.get(decouple.stage, 0) - h.get(decouple.stage, 0) for _, c, h in states]
    assert hb.worst == _worst(expected) and hb.worst != 0


def test_leaves_never_sent_with_the_cleanup_stopped_show_in_fresh_heartbeats(session):
    log, doc = session["log"], session["doc"]
    reset, _ = _one(log, "reset")
    decouple, _ = _one(log, "decouple")
    vanished = Counter(e.stage for e in log if e.event == "vanish")
    assert sum(vanished.values()) >= 5
    checked = 0
    by = {s.stageArn: s for s in doc.stages}
    for arn, n in vanished.items():
        if arn in (reset.stage, decouple.stage):
            continue  # their counters are off for other reasons too
        gone = [instants.parse(e.at) for e in log if e.stage == arn and e.event == "vanish"]
        users = {e.user for e in log if e.stage == arn and e.event == "vanish"}
        cleaned = [instants.parse(e.at) for e in log if e.event == "timeout" and e.user in users]
        assert len(cleaned) == n  # the cleanup removed them all once it ran again
        fresh = by[arn].counterVsFresh
        assert fresh.worst == n, arn  # all of them, silent and still counted
        episode = next(e for e in fresh.largest if e.worst == n)
        start, end = instants.parse(episode.start), instants.parse(episode.end)
        # seen once a vanished viewer's last heartbeat is older than the fresh window: within
        # a heartbeat, the window and one scan of the first vanish
        # (a scan is due every SCAN on the samples' grid; a loaded machine may delay one)
        assert gone[0] < start <= gone[0] + HEARTBEAT + FRESH + 2 * SCAN + 2 * instants.US
        # gone at the first scan after the cleanup removed them
        assert max(cleaned) <= end <= max(cleaned) + 2 * SCAN + 2 * instants.US
        # HLEN saw nothing: the hash kept them as long as the counter did
        assert by[arn].counterVsHeartbeats.worst == 0
        checked += 1
    assert checked >= 1


def test_the_checks_report_each_kind_of_drift_over_tight_limits(session):
    doc = session["doc"]
    tight = drift.DriftLimits(viewers=1, minutes=0.01, ivs_viewers=1)
    assert drift.total_vs_stages(doc, tight)
    problems = drift.counters_vs_heartbeats(doc, tight)
    assert any("HLEN" in p for p in problems) and any("fresh" in p for p in problems)
    assert drift.counters_vs_ivs(doc, tight) == []  # no IVS here: nothing to compare
