"""Rolling and weekly documents: exact sums of the seven days, zero-filled series,
missing days, and topVideos merged from the days' full top-N lists."""

from __future__ import annotations

import datetime as dt

import pytest

from stream_stats_dagster.facts import VideoMetadata, VideoMinutes
from stream_stats_dagster.reports.daily import videos_with_posts
from stream_stats_dagster.reports.models import (
    CountriesDoc,
    CreatorsDoc,
    SummaryDoc,
)
from stream_stats_dagster.reports.windows import (
    MissingDaysError,
    rolling_countries,
    rolling_creators,
    rolling_summary,
    weekly_creators,
    weekly_summary,
)

D = dt.date
END = D(2025, 3, 11)
WEEK = [D(2025, 3, 5) + dt.timedelta(days=i) for i in range(7)]  # rolling 03-05..03-11
LABELS = [d.isoformat() for d in WEEK]
MONDAY = D(2025, 3, 10)
ISO_WEEK = [MONDAY + dt.timedelta(days=i) for i in range(7)]  # 03-10..03-16
START = D(2025, 1, 1)


def cdoc(day, **values):
    """A daily creators doc; `_` stands for "__null__"."""
    return CreatorsDoc.model_validate(
        {
            "date": day.isoformat(),
            "creators": [
                {
                    "creator": "__null__" if k == "_" else k,
                    "minutesViewed": m,
                    "viewCount": v,
                    "trend": [],
                }
                for k, (m, v) in values.items()
            ],
        }
    )


def kdoc(day, **values):
    return CountriesDoc.model_validate(
        {
            "date": day.isoformat(),
            "countries": [
                {
                    "clientCountryName": "__null__" if k == "_" else k,
                    "minutesViewed": m,
                    "viewCount": v,
                }
                for k, (m, v) in values.items()
            ],
        }
    )


def sdoc(day, m, v):
    return SummaryDoc.model_validate(
        {
            "date": day.isoformat(),
            "totalMinutesViewed": m,
            "totalViewCount": v,
            "uniqueViewers": None,
            "topCreators": [],
            "topCountries": [],
            "topVideos": [],
            "dailyTrend": [],
            "hourlyTrend": [],
        }
    )


def vdoc(day, rows):
    """A videos-with-posts doc of (uid, minutes, views) rows."""
    videos = [VideoMinutes(uid=u, creator="c", minutesViewed=m, viewCount=v) for u, m, v in rows]
    meta = {u: VideoMetadata(uid=u, found=True, name=f"{u}.mp4") for u, _, _ in rows}
    return videos_with_posts(day, videos, meta)


def stats(*pairs, labels=LABELS):
    return [
        {"date": d, "minutesViewed": m, "viewCount": v}
        for d, (m, v) in zip(labels, pairs, strict=True)
    ]


Z = (0, 0)


def creators_week():
    docs = {d: cdoc(d) for d in WEEK}
    docs[D(2025, 3, 5)] = cdoc(D(2025, 3, 5), A=(10, 1), B=(5, 5))
    docs[D(2025, 3, 8)] = cdoc(D(2025, 3, 8), A=(1, 1), _=(3, 3))
    docs[D(2025, 3, 11)] = cdoc(D(2025, 3, 11), C=(11, 2))
    return docs


def test_rolling_creators_exact_sums_and_order():
    doc = rolling_creators(END, creators_week(), start_date=START).model_dump(mode="json")
    assert doc == {
        "schemaVersion": 1,
        "startDate": "2025-03-05",
        "endDate": "2025-03-11",
        "creators": [
            {
                "creator": "A",
                "dailyStats": stats((10, 1), Z, Z, (1, 1), Z, Z, Z),
                "totalMinutesViewed": 11,
                "totalViewCount": 2,
            },
            {  # ties A on both totals: key ascending
                "creator": "C",
                "dailyStats": stats(Z, Z, Z, Z, Z, Z, (11, 2)),
                "totalMinutesViewed": 11,
                "totalViewCount": 2,
            },
            {
                "creator": "B",
                "dailyStats": stats((5, 5), Z, Z, Z, Z, Z, Z),
                "totalMinutesViewed": 5,
                "totalViewCount": 5,
            },
            {
                "creator": "__null__",
                "dailyStats": stats(Z, Z, Z, (3, 3), Z, Z, Z),
                "totalMinutesViewed": 3,
                "totalViewCount": 3,
            },
        ],
    }


def test_rolling_creators_views_break_minute_ties():
    docs = {d: cdoc(d) for d in WEEK}
    docs[END] = cdoc(END, a=(5, 1), b=(5, 2))
    doc = rolling_creators(END, docs, start_date=START)
    assert [c.creator for c in doc.creators] == ["b", "a"]


def test_rolling_creators_zero_fill_before_start_and_missing_days():
    docs = {END: cdoc(END, A=(4, 4)), D(2025, 3, 10): None}
    doc = rolling_creators(END, docs, start_date=END)
    assert doc.creators[0].dailyStats[-1].minutesViewed == 4
    assert [s.minutesViewed for s in doc.creators[0].dailyStats] == [0] * 6 + [4]
    with pytest.raises(MissingDaysError) as err:
        rolling_creators(END, docs, start_date=D(2025, 3, 9))
    assert str(err.value) == (
        "missing data for 2025-03-09, 2025-03-10 (window 2025-03-05..2025-03-11)"
    )
    assert err.value.days == (D(2025, 3, 9), D(2025, 3, 10))


def test_rolling_creators_window_at_start_date_spans_seven_days():
    doc = rolling_creators(START, {START: cdoc(START, A=(1, 1))}, start_date=START)
    assert (doc.startDate, doc.endDate) == ("2024-12-26", "2025-01-01")
    assert len(doc.creators[0].dailyStats) == 7


def test_rolling_creators_rejects_a_doc_of_another_day():
    docs = creators_week()
    docs[END] = cdoc(D(2025, 3, 12), A=(1, 1))
    with pytest.raises(ValueError, match="dated 2025-03-12"):
        rolling_creators(END, docs, start_date=START)


def test_rolling_countries():
    docs = {d: kdoc(d) for d in WEEK}
    docs[D(2025, 3, 6)] = kdoc(D(2025, 3, 6), KR=(30, 3), _=(2, 2))
    docs[END] = kdoc(END, KR=(3, 1), TR=(40, 1))
    doc = rolling_countries(END, docs, start_date=START).model_dump(mode="json")
    assert doc == {
        "schemaVersion": 1,
        "startDate": "2025-03-05",
        "endDate": "2025-03-11",
        "countries": [
            {
                "clientCountryName": "TR",
                "dailyStats": stats(Z, Z, Z, Z, Z, Z, (40, 1)),
                "totalMinutesViewed": 40,
                "totalViewCount": 1,
            },
            {
                "clientCountryName": "KR",
                "dailyStats": stats(Z, (30, 3), Z, Z, Z, Z, (3, 1)),
                "totalMinutesViewed": 33,
                "totalViewCount": 4,
            },
            {
                "clientCountryName": "__null__",
                "dailyStats": stats(Z, (2, 2), Z, Z, Z, Z, Z),
                "totalMinutesViewed": 2,
                "totalViewCount": 2,
            },
        ],
    }


def test_rolling_windows_without_views():
    docs = {d: cdoc(d) for d in WEEK}
    assert rolling_creators(END, docs, start_date=START).creators == []
    assert rolling_countries(END, {d: kdoc(d) for d in WEEK}, start_date=START).countries == []


def merged_videos_week(days):
    """Every day: ten one-day videos of 100 minutes, and `steady`, 11th with 20 minutes."""
    return {
        d: vdoc(d, [(f"d{d.day:02d}v{i}", 100, 1) for i in range(10)] + [("steady", 20, 3)])
        for d in days
    }


def test_rolling_summary():
    creators = rolling_creators(END, creators_week(), start_date=START)
    countries_docs = {d: kdoc(d, KR=(d.day, 1)) for d in WEEK}
    countries_docs[END] = kdoc(END, KR=(11, 1), **{f"C{i:02d}": (i, 1) for i in range(12)})
    countries = rolling_countries(END, countries_docs, start_date=START)
    summaries = {d: sdoc(d, 100 * d.day, d.day) for d in WEEK}
    summaries[D(2025, 3, 7)] = sdoc(D(2025, 3, 7), 0, 0)
    videos = merged_videos_week(WEEK)
    doc = rolling_summary(
        END, summaries, videos, creators=creators, countries=countries, start_date=START
    ).model_dump(mode="json")
    assert list(doc) == [
        "schemaVersion",
        "startDate",
        "endDate",
        "totalMinutesViewed",
        "totalViewCount",
        "dailyStats",
        "topCreators",
        "topCountries",
        "topVideos",
    ]
    assert (doc["startDate"], doc["endDate"]) == ("2025-03-05", "2025-03-11")
    days = [5, 6, 0, 8, 9, 10, 11]
    assert doc["totalMinutesViewed"] == 100 * sum(days)
    assert doc["totalViewCount"] == sum(days)
    assert doc["dailyStats"] == stats(*[(100 * d, d) for d in days])
    assert doc["topCreators"] == [
        {"creator": "A", "minutesViewed": 11, "viewCount": 2},
        {"creator": "C", "minutesViewed": 11, "viewCount": 2},
        {"creator": "B", "minutesViewed": 5, "viewCount": 5},
        {"creator": "__null__", "minutesViewed": 3, "viewCount": 3},
    ]
    assert doc["topCountries"][0] == {
        "clientCountryName": "KR",
        "minutesViewed": 56,
        "viewCount": 7,
    }
    assert len(doc["topCountries"]) == 10
    # `steady` was 11th on every day (never in a daily top-10) but leads the window
    assert doc["topVideos"][0] == {"uid": "steady", "minutesViewed": 140, "viewCount": 21}
    assert len(doc["topVideos"]) == 10
    assert doc["topVideos"][1] == {"uid": "d05v0", "minutesViewed": 100, "viewCount": 1}


def test_rolling_summary_missing_days_across_inputs():
    creators = rolling_creators(END, creators_week(), start_date=START)
    countries = rolling_countries(END, {d: kdoc(d) for d in WEEK}, start_date=START)
    summaries = {d: sdoc(d, 1, 1) for d in WEEK if d != D(2025, 3, 6)}
    videos = merged_videos_week([d for d in WEEK if d != D(2025, 3, 8)])
    with pytest.raises(MissingDaysError) as err:
        rolling_summary(
            END, summaries, videos, creators=creators, countries=countries, start_date=START
        )
    assert err.value.days == (D(2025, 3, 6), D(2025, 3, 8))
    # before the start date the same gaps are zero-filled
    doc = rolling_summary(
        END, summaries, videos, creators=creators, countries=countries, start_date=END
    )
    assert [s.minutesViewed for s in doc.dailyStats] == [1, 0, 1, 1, 1, 1, 1]
    assert doc.totalMinutesViewed == 6


def test_rolling_summary_rejects_windows_of_other_days():
    creators = rolling_creators(D(2025, 3, 10), {}, start_date=END)
    countries = rolling_countries(END, {}, start_date=D(2025, 3, 12))
    with pytest.raises(ValueError, match=r"covers 2025-03-04\.\.2025-03-10"):
        rolling_summary(END, {}, {}, creators=creators, countries=countries, start_date=END)


def test_weekly_creators():
    docs = {d: cdoc(d) for d in ISO_WEEK}
    docs[MONDAY] = cdoc(MONDAY, RYAN=(95, 38), _=(1, 1))
    docs[D(2025, 3, 16)] = cdoc(D(2025, 3, 16), RYAN=(120, 45))
    doc = weekly_creators(MONDAY, docs, start_date=START).model_dump(mode="json")
    labels = [d.isoformat() for d in ISO_WEEK]
    assert doc == {
        "schemaVersion": 1,
        "weekStart": "2025-03-10",
        "weekEnd": "2025-03-16",
        "creators": [
            {
                "creator": "RYAN",
                "dailyStats": stats((95, 38), Z, Z, Z, Z, Z, (120, 45), labels=labels),
                "totalMinutesViewed": 215,
                "totalViewCount": 83,
            },
            {
                "creator": "__null__",
                "dailyStats": stats((1, 1), Z, Z, Z, Z, Z, Z, labels=labels),
                "totalMinutesViewed": 1,
                "totalViewCount": 1,
            },
        ],
    }


def test_weekly_needs_a_monday_and_all_days():
    with pytest.raises(ValueError, match="2025-03-11 is not a Monday"):
        weekly_creators(D(2025, 3, 11), {}, start_date=START)
    docs = {d: cdoc(d) for d in ISO_WEEK[:-1]}
    with pytest.raises(MissingDaysError, match="missing data for 2025-03-16 "):
        weekly_creators(MONDAY, docs, start_date=START)


def test_weekly_summary():
    creators_docs = {d: cdoc(d, A=(1, 1)) for d in ISO_WEEK}
    creators_docs[D(2025, 3, 12)] = cdoc(D(2025, 3, 12), A=(1, 1), B=(9, 9))
    creators = weekly_creators(MONDAY, creators_docs, start_date=START)
    countries_docs = {d: kdoc(d, KR=(2, 1), _=(1, 1)) for d in ISO_WEEK}
    countries_docs[MONDAY] = kdoc(MONDAY, KR=(2, 1), _=(1, 1), US=(20, 1))
    summaries = {d: sdoc(d, 3, 2) for d in ISO_WEEK}
    summaries[MONDAY] = sdoc(MONDAY, 23, 3)
    videos = merged_videos_week(ISO_WEEK)
    doc = weekly_summary(
        MONDAY, summaries, videos, countries_docs, creators=creators, start_date=START
    ).model_dump(mode="json")
    assert list(doc) == [
        "schemaVersion",
        "weekStart",
        "weekEnd",
        "totalMinutesViewed",
        "totalViewCount",
        "dailyStats",
        "topCreators",
        "topCountries",
        "topVideos",
    ]
    assert (doc["weekStart"], doc["weekEnd"]) == ("2025-03-10", "2025-03-16")
    assert (doc["totalMinutesViewed"], doc["totalViewCount"]) == (23 + 6 * 3, 3 + 6 * 2)
    labels = [d.isoformat() for d in ISO_WEEK]
    assert doc["dailyStats"] == stats((23, 3), *[(3, 2)] * 6, labels=labels)
    assert doc["topCreators"] == [
        {"creator": "B", "minutesViewed": 9, "viewCount": 9},
        {"creator": "A", "minutesViewed": 7, "viewCount": 7},
    ]
    assert doc["topCountries"] == [
        {"clientCountryName": "US", "minutesViewed": 20, "viewCount": 1},
        {"clientCountryName": "KR", "minutesViewed": 14, "viewCount": 7},
        {"clientCountryName": "__null__", "minutesViewed": 7, "viewCount": 7},
    ]
    assert doc["topVideos"][0] == {"uid": "steady", "minutesViewed": 140, "viewCount": 21}
    assert len(doc["topVideos"]) == 10


def test_weekly_summary_missing_countries_day():
    creators = weekly_creators(MONDAY, {d: cdoc(d) for d in ISO_WEEK}, start_date=START)
    countries_docs = {d: kdoc(d) for d in ISO_WEEK if d != D(2025, 3, 14)}
    with pytest.raises(MissingDaysError, match="missing data for 2025-03-14 "):
        weekly_summary(
            MONDAY,
            {d: sdoc(d, 0, 0) for d in ISO_WEEK},
            {d: vdoc(d, []) for d in ISO_WEEK},
            countries_docs,
            creators=creators,
            start_date=START,
        )
