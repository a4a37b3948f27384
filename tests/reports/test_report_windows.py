"""Rolling and weekly documents from the days' fact frames: exact sums of the seven days,
zero-filled series, missing days, and topVideos merged from the days' full top-N lists.

Every document built here is validated against its pydantic model.
"""

from __future__ import annotations

import pytest

from stream_stats_dagster.reports import models as m
from stream_stats_dagster.reports.tables import Document
from stream_stats_dagster.reports.windows import (
    MissingDaysError,
    rolling_countries,
    rolling_creators,
    rolling_summary,
    weekly_creators,
    weekly_summary,
)
from tests.reports.inputs import (
    START,
    D,
    Z,
    countries,
    creators,
    days,
    flat_hours,
    hours,
    labels,
    series,
    videos,
)

END = D(2025, 3, 11)
WEEK = days(D(2025, 3, 5))  # rolling 03-05..03-11
LABELS = labels(WEEK)
MONDAY = D(2025, 3, 10)
ISO_WEEK = days(MONDAY)  # 03-10..03-16
ISO_LABELS = labels(ISO_WEEK)


def as_json(doc: Document, model) -> dict:
    data = doc.to_json()
    assert model.model_validate(data).model_dump(mode="json") == data
    return data


def creators_week() -> dict:
    rows = {d: creators() for d in WEEK}
    rows[D(2025, 3, 5)] = creators(("A", 10, 1), ("B", 5, 5))
    rows[D(2025, 3, 8)] = creators(("A", 1, 1), ("", 2, 2), (None, 1, 1))
    rows[D(2025, 3, 11)] = creators(("C", 11, 2))
    return rows


def test_rolling_creators_exact_sums_and_order():
    doc = as_json(rolling_creators(END, creators_week(), start_date=START), m.RollingCreatorsDoc)
    assert doc == {
        "schemaVersion": 1,
        "startDate": "2025-03-05",
        "endDate": "2025-03-11",
        "creators": [
            {
                "creator": "A",
                "dailyStats": series(LABELS, (10, 1), Z, Z, (1, 1), Z, Z, Z),
                "totalMinutesViewed": 11,
                "totalViewCount": 2,
            },
            {  # ties A on both totals: key ascending
                "creator": "C",
                "dailyStats": series(LABELS, Z, Z, Z, Z, Z, Z, (11, 2)),
                "totalMinutesViewed": 11,
                "totalViewCount": 2,
            },
            {
                "creator": "B",
                "dailyStats": series(LABELS, (5, 5), Z, Z, Z, Z, Z, Z),
                "totalMinutesViewed": 5,
                "totalViewCount": 5,
            },
            {  # "" and None merged
                "creator": "__null__",
                "dailyStats": series(LABELS, Z, Z, Z, (3, 3), Z, Z, Z),
                "totalMinutesViewed": 3,
                "totalViewCount": 3,
            },
        ],
    }


def test_rolling_creators_views_break_minute_ties():
    rows = {d: creators() for d in WEEK}
    rows[END] = creators(("a", 5, 1), ("b", 5, 2))
    doc = as_json(rolling_creators(END, rows, start_date=START), m.RollingCreatorsDoc)
    assert [c["creator"] for c in doc["creators"]] == ["b", "a"]


def test_rolling_creators_zero_fill_before_start_and_missing_days():
    rows = {END: creators(("A", 4, 4)), D(2025, 3, 10): None}
    doc = as_json(rolling_creators(END, rows, start_date=END), m.RollingCreatorsDoc)
    assert doc["creators"][0]["dailyStats"] == series(LABELS, Z, Z, Z, Z, Z, Z, (4, 4))
    with pytest.raises(MissingDaysError) as err:
        rolling_creators(END, rows, start_date=D(2025, 3, 9))
    assert str(err.value) == (
        "missing data for 2025-03-09, 2025-03-10 (window 2025-03-05..2025-03-11)"
    )
    assert err.value.days == (D(2025, 3, 9), D(2025, 3, 10))


def test_rolling_creators_window_at_start_date_spans_seven_days():
    doc = rolling_creators(START, {START: creators(("A", 1, 1))}, start_date=START)
    data = as_json(doc, m.RollingCreatorsDoc)
    assert (data["startDate"], data["endDate"]) == ("2024-12-26", "2025-01-01")
    assert len(data["creators"][0]["dailyStats"]) == 7


def test_rolling_countries():
    rows = {d: countries() for d in WEEK}
    rows[D(2025, 3, 6)] = countries(("KR", 30, 3), ("", 2, 2))
    rows[END] = countries(("KR", 3, 1), ("TR", 40, 1))
    doc = as_json(rolling_countries(END, rows, start_date=START), m.RollingCountriesDoc)
    assert doc == {
        "schemaVersion": 1,
        "startDate": "2025-03-05",
        "endDate": "2025-03-11",
        "countries": [
            {
                "clientCountryName": "TR",
                "dailyStats": series(LABELS, Z, Z, Z, Z, Z, Z, (40, 1)),
                "totalMinutesViewed": 40,
                "totalViewCount": 1,
            },
            {
                "clientCountryName": "KR",
                "dailyStats": series(LABELS, Z, (30, 3), Z, Z, Z, Z, (3, 1)),
                "totalMinutesViewed": 33,
                "totalViewCount": 4,
            },
            {
                "clientCountryName": "__null__",
                "dailyStats": series(LABELS, Z, (2, 2), Z, Z, Z, Z, Z),
                "totalMinutesViewed": 2,
                "totalViewCount": 2,
            },
        ],
    }


def test_rolling_windows_without_views():
    doc = rolling_creators(END, {d: creators() for d in WEEK}, start_date=START)
    assert as_json(doc, m.RollingCreatorsDoc)["creators"] == []
    doc = rolling_countries(END, {d: countries() for d in WEEK}, start_date=START)
    assert as_json(doc, m.RollingCountriesDoc)["countries"] == []


def steady_videos(dates) -> dict:
    """Every day: ten one-day videos of 100 minutes, and `steady`, 11th with 20 minutes."""
    return {
        d: videos(*[(f"d{d.day:02d}v{i}", "c", 100, 1) for i in range(10)], ("steady", "c", 20, 3))
        for d in dates
    }


def test_rolling_summary():
    creators_doc = rolling_creators(END, creators_week(), start_date=START)
    country_rows = {d: countries(("KR", d.day, 1)) for d in WEEK}
    country_rows[END] = countries(("KR", 11, 1), *[(f"C{i:02d}", i, 1) for i in range(12)])
    countries_doc = rolling_countries(END, country_rows, start_date=START)
    hourly = {d: hours(d, h00=(60 * d.day, d.day), h13=(40 * d.day, 0)) for d in WEEK}
    hourly[D(2025, 3, 7)] = flat_hours(D(2025, 3, 7))  # a day without views
    doc = rolling_summary(
        END,
        hourly,
        steady_videos(WEEK),
        creators=creators_doc,
        countries=countries_doc,
        start_date=START,
    )
    data = as_json(doc, m.RollingSummaryDoc)
    assert list(data) == [
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
    assert (data["startDate"], data["endDate"]) == ("2025-03-05", "2025-03-11")
    day_numbers = [5, 6, 0, 8, 9, 10, 11]
    assert data["totalMinutesViewed"] == 100 * sum(day_numbers)
    assert data["totalViewCount"] == sum(day_numbers)
    assert data["dailyStats"] == series(LABELS, *[(100 * n, n) for n in day_numbers])
    assert data["topCreators"] == [
        {"creator": "A", "minutesViewed": 11, "viewCount": 2},
        {"creator": "C", "minutesViewed": 11, "viewCount": 2},
        {"creator": "B", "minutesViewed": 5, "viewCount": 5},
        {"creator": "__null__", "minutesViewed": 3, "viewCount": 3},
    ]
    assert data["topCountries"][0] == {
        "clientCountryName": "KR",
        "minutesViewed": 5 + 6 + 7 + 8 + 9 + 10 + 11,
        "viewCount": 7,
    }
    assert len(data["topCountries"]) == 10
    # `steady` was 11th on every day (never in a daily top-10) but leads the window
    assert data["topVideos"][0] == {"uid": "steady", "minutesViewed": 140, "viewCount": 21}
    assert len(data["topVideos"]) == 10
    assert data["topVideos"][1] == {"uid": "d05v0", "minutesViewed": 100, "viewCount": 1}


def test_window_top_videos_sum_a_video_over_the_days():
    """A uid on several days (and twice on one day) is summed into one topVideos entry."""
    rows = {d: videos() for d in WEEK}
    rows[D(2025, 3, 5)] = videos(("x", "c", 5, 1), ("y", "c", 9, 1))
    rows[D(2025, 3, 9)] = videos(("x", "c", 3, 2), ("x", "", 4, 1))
    creators_doc = rolling_creators(END, {d: creators() for d in WEEK}, start_date=START)
    countries_doc = rolling_countries(END, {d: countries() for d in WEEK}, start_date=START)
    hourly = {d: flat_hours(d) for d in WEEK}
    doc = rolling_summary(
        END, hourly, rows, creators=creators_doc, countries=countries_doc, start_date=START
    )
    assert as_json(doc, m.RollingSummaryDoc)["topVideos"] == [
        {"uid": "x", "minutesViewed": 12, "viewCount": 4},
        {"uid": "y", "minutesViewed": 9, "viewCount": 1},
    ]


def test_rolling_summary_missing_days_across_inputs():
    creators_doc = rolling_creators(END, creators_week(), start_date=START)
    countries_doc = rolling_countries(END, {d: countries() for d in WEEK}, start_date=START)
    hourly = {d: hours(d, h00=(1, 1)) for d in WEEK if d != D(2025, 3, 6)}
    video_rows = steady_videos([d for d in WEEK if d != D(2025, 3, 8)])
    with pytest.raises(MissingDaysError) as err:
        rolling_summary(
            END,
            hourly,
            video_rows,
            creators=creators_doc,
            countries=countries_doc,
            start_date=START,
        )
    assert err.value.days == (D(2025, 3, 6), D(2025, 3, 8))  # both inputs, one error
    assert str(err.value) == (
        "missing data for 2025-03-06, 2025-03-08 (window 2025-03-05..2025-03-11)"
    )
    # before the start date the same gaps are zero-filled
    doc = rolling_summary(
        END, hourly, video_rows, creators=creators_doc, countries=countries_doc, start_date=END
    )
    data = as_json(doc, m.RollingSummaryDoc)
    assert [s["minutesViewed"] for s in data["dailyStats"]] == [1, 0, 1, 1, 1, 1, 1]
    assert data["totalMinutesViewed"] == 6
    assert data["topVideos"][0] == {"uid": "steady", "minutesViewed": 120, "viewCount": 18}


def test_rolling_summary_rejects_windows_of_other_days():
    creators_doc = rolling_creators(D(2025, 3, 10), {}, start_date=END)
    countries_doc = rolling_countries(END, {}, start_date=D(2025, 3, 12))
    with pytest.raises(ValueError, match=r"covers 2025-03-04\.\.2025-03-10"):
        rolling_summary(END, {}, {}, creators=creators_doc, countries=countries_doc, start_date=END)


def test_weekly_creators():
    rows = {d: creators() for d in ISO_WEEK}
    rows[MONDAY] = creators(("RYAN", 95, 38), ("", 1, 1))
    rows[D(2025, 3, 16)] = creators(("RYAN", 120, 45))
    doc = as_json(weekly_creators(MONDAY, rows, start_date=START), m.WeeklyCreatorsDoc)
    assert doc == {
        "schemaVersion": 1,
        "weekStart": "2025-03-10",
        "weekEnd": "2025-03-16",
        "creators": [
            {
                "creator": "RYAN",
                "dailyStats": series(ISO_LABELS, (95, 38), Z, Z, Z, Z, Z, (120, 45)),
                "totalMinutesViewed": 215,
                "totalViewCount": 83,
            },
            {
                "creator": "__null__",
                "dailyStats": series(ISO_LABELS, (1, 1), Z, Z, Z, Z, Z, Z),
                "totalMinutesViewed": 1,
                "totalViewCount": 1,
            },
        ],
    }


def test_weekly_and_rolling_creators_of_the_same_seven_days_agree():
    rows = {d: creators((f"c{d.day}", d.day, 1), ("all", 1, 1)) for d in ISO_WEEK}
    weekly = weekly_creators(MONDAY, rows, start_date=START).to_json()
    rolling = rolling_creators(ISO_WEEK[-1], rows, start_date=START).to_json()
    assert weekly["creators"] == rolling["creators"]
    assert [c["creator"] for c in weekly["creators"]][:2] == ["c16", "c15"]


def test_weekly_needs_a_monday_and_all_days():
    with pytest.raises(ValueError, match="2025-03-11 is not a Monday"):
        weekly_creators(D(2025, 3, 11), {}, start_date=START)
    rows = {d: creators() for d in ISO_WEEK[:-1]}
    with pytest.raises(MissingDaysError, match="missing data for 2025-03-16 "):
        weekly_creators(MONDAY, rows, start_date=START)


def test_weekly_summary():
    creator_rows = {d: creators(("A", 1, 1)) for d in ISO_WEEK}
    creator_rows[D(2025, 3, 12)] = creators(("A", 1, 1), ("B", 9, 9))
    creators_doc = weekly_creators(MONDAY, creator_rows, start_date=START)
    country_rows = {d: countries(("KR", 2, 1), ("", 1, 1)) for d in ISO_WEEK}
    country_rows[MONDAY] = countries(("KR", 2, 1), (None, 1, 1), ("US", 20, 1))
    hourly = {d: hours(d, h05=(3, 2)) for d in ISO_WEEK}
    hourly[MONDAY] = hours(MONDAY, h00=(20, 1), h05=(3, 2))
    doc = weekly_summary(
        MONDAY,
        hourly,
        steady_videos(ISO_WEEK),
        country_rows,
        creators=creators_doc,
        start_date=START,
    )
    data = as_json(doc, m.WeeklySummaryDoc)
    assert list(data) == [
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
    assert (data["weekStart"], data["weekEnd"]) == ("2025-03-10", "2025-03-16")
    assert (data["totalMinutesViewed"], data["totalViewCount"]) == (23 + 6 * 3, 3 + 6 * 2)
    assert data["dailyStats"] == series(ISO_LABELS, (23, 3), *[(3, 2)] * 6)
    assert data["topCreators"] == [
        {"creator": "B", "minutesViewed": 9, "viewCount": 9},
        {"creator": "A", "minutesViewed": 7, "viewCount": 7},
    ]
    assert data["topCountries"] == [
        {"clientCountryName": "US", "minutesViewed": 20, "viewCount": 1},
        {"clientCountryName": "KR", "minutesViewed": 14, "viewCount": 7},
        {"clientCountryName": "__null__", "minutesViewed": 7, "viewCount": 7},
    ]
    assert data["topVideos"][0] == {"uid": "steady", "minutesViewed": 140, "viewCount": 21}
    assert len(data["topVideos"]) == 10


def test_weekly_summary_missing_days_of_all_inputs_in_one_line():
    creators_doc = weekly_creators(MONDAY, {d: creators() for d in ISO_WEEK}, start_date=START)
    with pytest.raises(MissingDaysError) as err:
        weekly_summary(
            MONDAY,
            {d: flat_hours(d) for d in ISO_WEEK if d != D(2025, 3, 11)},
            {d: videos() for d in ISO_WEEK if d != D(2025, 3, 12)},
            {d: countries() for d in ISO_WEEK if d != D(2025, 3, 14)},
            creators=creators_doc,
            start_date=START,
        )
    assert str(err.value) == (
        "missing data for 2025-03-11, 2025-03-12, 2025-03-14 (window 2025-03-10..2025-03-16)"
    )


def test_weekly_summary_rejects_creators_of_another_week():
    creators_doc = weekly_creators(D(2025, 3, 3), {}, start_date=END)
    with pytest.raises(ValueError, match=r"covers 2025-03-03\.\.2025-03-09"):
        weekly_summary(MONDAY, {}, {}, {}, creators=creators_doc, start_date=D(2025, 3, 17))
    with pytest.raises(ValueError, match="2025-03-11 is not a Monday"):
        weekly_summary(END, {}, {}, {}, creators=creators_doc, start_date=START)
