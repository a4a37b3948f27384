"""Known answers: a day's live report from hand-made sample series (through the sampler, its
spool and its hour files), worked out by hand in each test's comments."""

import datetime as dt

from stream_stats_dagster.reports.live import document, report
from stream_stats_dagster.reports.live.samples import StageInfo
from tests.live.handmade import ARN, Moment, sample

A, B = ARN + "AAAA", ARN + "BBBB"


def _doc(tmp_path, moments, day, tz, interval=15.0):
    hours = sample(tmp_path, moments, tz, interval)
    doc = report.live_viewers(dt.date.fromisoformat(day), tz, hours)
    for check in document.CHECKS.values():
        assert check(doc) == [], check.__name__
    return doc, hours


def test_three_samples_in_seoul(tmp_path):
    # KST 10:00:00, :15, :30 = 01:00:00Z...; every sample holds 15 s (the last one: its
    # interval). Total 10, 20, 0 -> 150 + 300 + 0 = 450 viewer-seconds = 7.5 viewer-minutes.
    info = StageInfo(name="master", arn=A, autoScaled=False, createdAt="x", parentStage=None)
    moments = [
        Moment("2025-03-11T01:00:00Z", 10, {A: 10}, info={A: info}),
        Moment("2025-03-11T01:00:15Z", 20, {A: 20}),
        Moment("2025-03-11T01:00:30Z", 0, {A: 0}, publisher="offline"),
    ]
    doc, hours = _doc(tmp_path, moments, "2025-03-11", "Asia/Seoul")
    assert len(hours) == 1 and hours[0].hourStart == "2025-03-11T01:00:00.000000Z"
    p, c = doc.platform, doc.coverage
    assert (p.peakViewers, p.peakAt) == (20, "2025-03-11T01:00:15.000000Z")
    assert p.viewerMinutes == 7.5 and p.publisherLiveMinutes == 0.5  # two samples live
    assert (p.maxStages, p.maxStagesAt) == (1, "2025-03-11T01:00:00.000000Z")
    assert (c.daySeconds, c.sampledSeconds, c.samples) == (86400, 45.0, 3)
    assert c.share == round(45 / 86400, 6)
    assert [(g.start, g.end) for g in c.gaps] == [
        ("2025-03-10T15:00:00.000000Z", "2025-03-11T01:00:00.000000Z"),
        ("2025-03-11T01:00:45.000000Z", "2025-03-11T15:00:00.000000Z"),
    ]
    (stage,) = doc.stages
    assert (stage.name, stage.autoScaled, stage.peakViewers) == ("master", False, 20)
    # 450 viewer-seconds over the 30 s the stage had viewers
    assert (stage.viewerMinutes, stage.averageViewers) == (7.5, 15.0)
    assert (stage.firstSeen, stage.lastSeen) == (moments[0].at[:-1] + ".000000Z", p.peakAt)
    ten = next(h for h in p.hourlyTrend if h.hour == "2025-03-11T10:00:00+09:00")
    assert (ten.peakViewers, ten.viewerMinutes, ten.sampledSeconds) == (20, 7.5, 45.0)
    assert sum(h.peakViewers is not None for h in p.hourlyTrend) == 1


def test_a_gap_and_a_late_sample(tmp_path):
    # 15 s interval: :00 -> :25 is within two intervals (jitter): held. :25 -> 02:00 is not:
    # :25 holds 15 s, then a gap until 02:00; the last sample holds 15 s.
    moments = [
        Moment("2025-03-11T01:00:00Z", 4, {A: 3, B: 1}),
        Moment("2025-03-11T01:00:25Z", 6, {A: 3, B: 3}),
        Moment("2025-03-11T01:02:00Z", 2, {A: 0, B: 2}),
    ]
    doc, _ = _doc(tmp_path, moments, "2025-03-11", "Asia/Seoul")
    c, p = doc.coverage, doc.platform
    assert c.sampledSeconds == 25 + 15 + 15
    assert ("2025-03-11T01:00:40.000000Z", "2025-03-11T01:02:00.000000Z", 80.0) in [
        (g.start, g.end, g.seconds) for g in c.gaps
    ]
    # total: 4*25 + 6*15 + 2*15 = 220 viewer-seconds
    assert p.viewerMinutes == round(220 / 60, 3)
    assert (p.maxStages, p.maxStagesAt) == (2, "2025-03-11T01:00:00.000000Z")
    by = {s.stageArn: s for s in doc.stages}
    # A: 3*25 + 3*15 = 120 over 40 s with viewers; B: 25 + 45 + 30 = 100 over 55 s
    assert (by[A].viewerMinutes, by[A].averageViewers) == (2.0, 3.0)
    assert (by[B].viewerMinutes, by[B].averageViewers) == (round(100 / 60, 3), round(100 / 55, 3))
    assert by[A].lastSeen == "2025-03-11T01:00:25.000000Z"
    assert by[B].peakAt == "2025-03-11T01:00:25.000000Z"
    assert [s.stageArn for s in doc.stages] == [A, B]  # by viewer-minutes


def test_new_york_spring_forward_is_a_23_hour_day(tmp_path):
    # 2025-03-09: 02:00 EST does not exist. 06:59:50Z = 01:59:50 EST; 07:00:05Z = 03:00:05
    # EDT, 15 s later: held. The first sample's 15 s split 10 s / 5 s across the two hours.
    moments = [
        Moment("2025-03-09T06:59:50Z", 6, {A: 6}),
        Moment("2025-03-09T07:00:05Z", 12, {A: 12}),
    ]
    doc, hours = _doc(tmp_path, moments, "2025-03-09", "America/New_York")
    assert doc.coverage.daySeconds == 23 * 3600 and len(doc.platform.hourlyTrend) == 23
    assert [h.hourStart for h in hours] == [
        "2025-03-09T06:00:00.000000Z",
        "2025-03-09T07:00:00.000000Z",
    ]
    trend = {h.hour: h for h in doc.platform.hourlyTrend}
    assert "2025-03-09T02:00:00-05:00" not in trend and "2025-03-09T02:00:00-04:00" not in trend
    one, three = trend["2025-03-09T01:00:00-05:00"], trend["2025-03-09T03:00:00-04:00"]
    assert (one.viewerMinutes, one.sampledSeconds) == (1.0, 10.0)  # 6 viewers x 10 s
    assert (three.viewerMinutes, three.sampledSeconds) == (round((30 + 180) / 60, 3), 20.0)
    assert (one.peakViewers, three.peakViewers) == (6, 12)
    assert doc.dayStart == "2025-03-09T05:00:00.000000Z"
    assert doc.dayEnd == "2025-03-10T04:00:00.000000Z"


def test_new_york_fall_back_has_two_one_oclock_hours(tmp_path):
    # 2025-11-02: 01:00-02:00 twice, EDT (05:00Z) then EST (06:00Z): two hour files, two
    # trend entries, a 25-hour day.
    moments = [
        Moment("2025-11-02T05:30:00Z", 1, {A: 1}),
        Moment("2025-11-02T06:30:00Z", 2, {A: 2}),
    ]
    doc, hours = _doc(tmp_path, moments, "2025-11-02", "America/New_York")
    assert doc.coverage.daySeconds == 25 * 3600 and len(doc.platform.hourlyTrend) == 25
    assert [h.hourStart for h in hours] == [
        "2025-11-02T05:00:00.000000Z",
        "2025-11-02T06:00:00.000000Z",
    ]
    trend = {h.hour: h.peakViewers for h in doc.platform.hourlyTrend}
    assert trend["2025-11-02T01:00:00-04:00"] == 1 and trend["2025-11-02T01:00:00-05:00"] == 2
    assert len(doc.coverage.gaps) == 3  # before, between (an hour apart), after


def test_kolkata_half_hour_day_counts_the_sample_before_midnight(tmp_path):
    # IST 2025-03-11 = 2025-03-10T18:30Z .. 2025-03-11T18:30Z. A sample at 18:29:55Z (the day
    # before, in the hour file of 17:30Z) holds until the next at 18:30:10Z: 10 s of it fall
    # in the day (60 viewers: 600 viewer-seconds), and it is the day's peak, at 00:00 IST
    # (the step function of the samples is 60 at the day's first instant).
    moments = [
        Moment("2025-03-10T18:29:55Z", 60, {A: 60}),
        Moment("2025-03-10T18:30:10Z", 5, {A: 5}),
        Moment("2025-03-10T18:30:25Z", 7, {A: 7}),
    ]
    doc, hours = _doc(tmp_path, moments, "2025-03-11", "Asia/Kolkata")
    assert [h.hourStart for h in hours] == [
        "2025-03-10T17:30:00.000000Z",
        "2025-03-10T18:30:00.000000Z",
    ]
    p, c = doc.platform, doc.coverage
    assert doc.dayStart == "2025-03-10T18:30:00.000000Z"
    assert (p.peakViewers, p.peakAt) == (60, "2025-03-10T18:30:00.000000Z")
    assert c.sampledSeconds == 10 + 15 + 15 and c.samples == 2
    # 60*10 + 5*15 + 7*15 = 780 viewer-seconds = 13 viewer-minutes
    assert p.viewerMinutes == 13.0
    first = p.hourlyTrend[0]
    assert (first.hour, first.viewerMinutes) == ("2025-03-11T00:00:00+05:30", 13.0)
    (stage,) = doc.stages
    assert (stage.peakViewers, stage.firstSeen) == (60, "2025-03-10T18:30:00.000000Z")
    assert stage.lastSeen == "2025-03-10T18:30:25.000000Z"
    assert stage.averageViewers == round(780 / 40, 3)


def test_a_day_without_samples_is_all_gap(tmp_path):
    doc = report.live_viewers(dt.date(2025, 3, 11), "Asia/Seoul", [])
    assert doc.coverage.sampledSeconds == 0 and doc.coverage.share == 0
    assert [(g.start, g.seconds) for g in doc.coverage.gaps] == [
        ("2025-03-10T15:00:00.000000Z", 86400.0)
    ]
    assert doc.platform.peakViewers is None and doc.stages == []
    for check in document.CHECKS.values():
        assert check(doc) == []


def test_checks_catch_a_document_that_does_not_add_up(tmp_path):
    moments = [Moment("2025-03-11T01:00:00Z", 10, {A: 10})]
    doc, _ = _doc(tmp_path, moments, "2025-03-11", "Asia/Seoul")
    bad = doc.model_copy(deep=True)
    bad.coverage.sampledSeconds += 1
    bad.platform.hourlyTrend[0].viewerMinutes += 1
    bad.stages[0].averageViewers = 11.0
    assert document.coverage_adds_up(bad) and document.hours_add_up(bad)
    assert document.stages_consistent(bad)
