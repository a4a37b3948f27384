"""`reports/live/drift.py` on hand-made hours of samples, numbers worked out by hand."""

from __future__ import annotations

import datetime as dt

from stream_stats_dagster.reports.live import drift, instants
from stream_stats_dagster.reports.live.samples import (
    IvsLine,
    SampleLine,
    StagesLine,
    build_hour,
)

A = "arn:aws:ivs:ap-northeast-1:123456789012:stage/aaaa"
B = "arn:aws:ivs:ap-northeast-1:123456789012:stage/bbbb"
T0 = instants.parse("2025-03-11T05:00:00Z")  # 14:00 KST
STEP = 15 * instants.US
DAY = dt.date(2025, 3, 11)


def _at(i: int) -> str:
    return instants.text(T0 + i * STEP)


def _hour(skip=()) -> list:
    """12 samples every 15 s. A: 10 viewers, its counter 13 at samples 4..7 (HLEN 10); B: 0,
    -1 at samples 8..9; the total 2 above the stages at samples 2..3; A's info absent
    throughout; heartbeat scans at 0, 4, 8 (fresh: A 10, B 0; one unparsable of B at 8)."""
    lines = [StagesLine(arns=[A, B])]
    for i in range(12):
        if i in skip:
            continue
        a = 13 if 4 <= i <= 7 else 10
        b = -1 if i in (8, 9) else 0
        scan = i in (0, 4, 8)
        lines.append(
            SampleLine(
                at=_at(i),
                intervalMs=15000,
                total=a + b + (2 if i in (2, 3) else 0),
                publisher="live",
                viewers=[a, b],
                heartbeats=[10, 0],
                infoMissing=[0],
                freshAt=_at(i) if scan else None,
                fresh=[10, 0] if scan else None,
                unparsable=[0, 1 if i == 8 else 0] if scan else None,
            )
        )
    lines.append(
        IvsLine(at=_at(5), stageArn=A, sessionId="st-1", connected=10, counter=13, calls=2)
    )
    return [build_hour(lines, T0, "Asia/Seoul", "ivs:prod:")]


def test_each_comparison_names_its_drift_with_minutes_and_size():
    doc = drift.live_drift(DAY, "Asia/Seoul", _hour())
    t = doc.totalVsStages
    assert (t.worst, t.worstAt, t.minutes, t.episodes) == (2, _at(2), 0.5, 1)
    assert (t.largest[0].start, t.largest[0].end) == (_at(2), _at(4))
    assert doc.measured.samples == 12 and doc.measured.heartbeatScans == 3
    by = {s.stageArn: s for s in doc.stages}
    a, b = by[A], by[B]
    hb = a.counterVsHeartbeats
    assert (hb.worst, hb.worstAt, hb.minutes, hb.worstLastedMinutes) == (3, _at(4), 1.0, 1.0)
    assert (hb.largest[0].start, hb.largest[0].end) == (_at(4), _at(8))
    fresh = a.counterVsFresh  # the scan at 4 saw +3 and holds until the scan at 8
    assert (fresh.worst, fresh.worstAt, fresh.minutes, fresh.samples) == (3, _at(4), 1.0, 3)
    assert a.expiredInfo.largest == 13 and a.expiredInfo.minutes == 3.0  # 12 samples × 15 s
    assert a.ivs[0].difference == 3 and a.ivsWorst == 3 and doc.ivs.stagesOff == 1
    assert b.negative.lowest == -1 and b.negative.minutes == 0.5
    assert (b.negative.first, b.negative.last) == (_at(8), _at(9))
    assert b.unparsableHeartbeats == 1 and b.expiredInfo is None  # B's counter is 0 or below
    assert doc.stages[0].stageArn == A  # the most off first


def test_a_gap_splits_an_episode_and_the_limits_pick_what_fails():
    doc = drift.live_drift(DAY, "Asia/Seoul", _hour(skip={5, 6}))
    hb = {s.stageArn: s for s in doc.stages}[A].counterVsHeartbeats
    # 4, then 45 s without a sample (4 holds one interval), then 7
    assert hb.episodes == 2 and hb.minutes == 0.5
    assert [(e.start, e.end) for e in hb.largest] == [(_at(4), _at(5)), (_at(7), _at(8))]
    strict = drift.DriftLimits(
        viewers=2, minutes=0.2, ivs_viewers=2
    )  # each episode: +3 for 0.25 min
    assert drift.counters_vs_heartbeats(doc, strict)
    assert drift.total_vs_stages(doc, strict) == []  # +2 is not more than 2
    assert drift.counters_vs_ivs(doc, strict) and not drift.counters_vs_ivs(
        doc, drift.DriftLimits()
    )
    assert drift.counters_vs_heartbeats(doc, drift.DriftLimits()) == []


def test_schema_1_hours_say_what_was_not_measured():
    hour = _hour()[0]
    c = hour.samples
    old = hour.model_copy(
        update={
            "schemaVersion": 1,
            "reconciliations": None,
            "samples": c.model_copy(
                update={"infoMissing": None, "freshAt": None, "fresh": None, "unparsable": None}
            ),
        }
    )
    doc = drift.live_drift(DAY, "Asia/Seoul", [old])
    assert doc.measured.heartbeatScans == 0 and doc.measured.samplesWithInfoPresence == 0
    a = {s.stageArn: s for s in doc.stages}[A]
    assert a.counterVsFresh is None and a.expiredInfo is None and a.ivs == []
    assert a.counterVsHeartbeats.worst == 3
