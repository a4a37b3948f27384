"""Daily documents on tiny hand-made fact frames with known answers.

Every document built here is validated against its pydantic model (the documented shape).
"""

from __future__ import annotations

import pytest

from stream_stats_dagster.reports import models as m
from stream_stats_dagster.reports.daily import (
    MissingMetadataError,
    daily_countries,
    daily_creators,
    daily_summary,
    videos_with_posts,
)
from stream_stats_dagster.reports.rules import MissingDaysError
from stream_stats_dagster.reports.tables import Document
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
    meta,
    metadata,
    series,
    videos,
)

DAY = D(2025, 3, 11)
WEEK = days(D(2025, 3, 5))  # 03-05 .. 03-11
LABELS = labels(WEEK)


def week_of(rows_for_day: dict) -> dict:
    """Creator rows for every day of WEEK (a day not given has no rows)."""
    return {d: rows_for_day.get(d, creators()) for d in WEEK}


def as_json(doc: Document, model) -> dict:
    """The document's JSON data, checked against its model."""
    data = doc.to_json()
    assert model.model_validate(data).model_dump(mode="json") == data
    return data


def creators_json(day, rows, start_date=START) -> dict:
    return as_json(daily_creators(day, rows, start_date=start_date), m.CreatorsDoc)


def posts_json(videos_frame, metadata_frame, day=DAY) -> dict:
    return as_json(videos_with_posts(day, videos_frame, metadata_frame), m.VideosWithPostsDoc)


# --- creators --------------------------------------------------------------------------


def test_daily_creators_trend_and_null_merge():
    rows = week_of(
        {
            D(2025, 3, 5): creators(("RYAN", 95, 38)),
            D(2025, 3, 10): creators(("", 1, 1), ("test", 4, 2)),
            DAY: creators(("RYAN", 120, 45), ("", 3, 1), ("test", 14, 7), (None, 2, 2)),
        }
    )
    doc = creators_json(DAY, rows)
    assert list(doc) == ["schemaVersion", "date", "creators"]
    assert doc["schemaVersion"] == 1
    assert doc["date"] == "2025-03-11"
    assert [c["creator"] for c in doc["creators"]] == ["RYAN", "test", "__null__"]
    ryan, test, null = doc["creators"]
    assert list(ryan) == ["creator", "minutesViewed", "viewCount", "trend"]
    assert (ryan["minutesViewed"], ryan["viewCount"]) == (120, 45)
    assert ryan["trend"] == series(LABELS, (95, 38), Z, Z, Z, Z, Z, (120, 45))
    assert (null["minutesViewed"], null["viewCount"]) == (5, 3)  # "" and None rows merged
    assert [t["minutesViewed"] for t in null["trend"]] == [0, 0, 0, 0, 0, 1, 5]
    assert [t["minutesViewed"] for t in test["trend"]] == [0, 0, 0, 0, 0, 4, 14]
    # the parts add up to the day's rows: nothing dropped
    assert sum(c["minutesViewed"] for c in doc["creators"]) == 120 + 3 + 14 + 2


def test_daily_creators_only_creators_with_a_row_that_day():
    rows = week_of({D(2025, 3, 10): creators(("gone", 50, 5)), DAY: creators(("here", 1, 1))})
    doc = creators_json(DAY, rows)
    assert [c["creator"] for c in doc["creators"]] == ["here"]


def test_daily_creators_sort_three_levels():
    rows = week_of(
        {
            DAY: creators(
                ("b", 10, 5), ("a", 10, 5), ("c", 10, 6), ("d", 11, 0), ("B", 10, 5), ("", 10, 5)
            )
        }
    )
    doc = creators_json(DAY, rows)
    assert [c["creator"] for c in doc["creators"]] == ["d", "c", "B", "__null__", "a", "b"]


def test_daily_creators_days_before_start_date_are_zero_filled():
    # only the day itself is known, start_date is the day: d-6..d-1 are zero-filled
    doc = creators_json(DAY, {DAY: creators(("RYAN", 7, 2))}, start_date=DAY)
    assert doc["creators"][0]["trend"] == series(LABELS, Z, Z, Z, Z, Z, Z, (7, 2))
    # None before start_date is zero-filled as well; a present day before it is used
    rows = {D(2025, 3, 5): creators(("RYAN", 3, 1)), D(2025, 3, 6): None}
    rows |= {d: creators() for d in WEEK[2:6]}
    rows[DAY] = creators(("RYAN", 7, 2))
    doc = creators_json(DAY, rows, start_date=D(2025, 3, 7))
    assert [t["minutesViewed"] for t in doc["creators"][0]["trend"]] == [3, 0, 0, 0, 0, 0, 7]


def test_daily_creators_missing_days_raise():
    rows = week_of({DAY: creators(("RYAN", 7, 2))})
    del rows[D(2025, 3, 7)]
    rows[D(2025, 3, 9)] = None
    with pytest.raises(MissingDaysError) as err:
        daily_creators(DAY, rows, start_date=START)
    assert str(err.value) == (
        "missing data for 2025-03-07, 2025-03-09 (window 2025-03-05..2025-03-11)"
    )
    # the same gaps before the start date are fine
    doc = creators_json(DAY, rows, start_date=D(2025, 3, 10))
    assert doc["creators"][0]["trend"][2]["minutesViewed"] == 0


def test_daily_creators_missing_day_itself_raises():
    rows = week_of({})
    del rows[DAY]
    with pytest.raises(MissingDaysError, match="missing data for 2025-03-11 "):
        daily_creators(DAY, rows, start_date=START)


def test_daily_creators_day_without_views():
    doc = creators_json(DAY, week_of({}))
    assert doc == {"schemaVersion": 1, "date": "2025-03-11", "creators": []}


def test_daily_creators_document_tables():
    """The frames behind the JSON: one row per creator, the trend as a long child table."""
    rows = week_of({DAY: creators(("a", 2, 1), ("b", 1, 1))})
    doc = daily_creators(DAY, rows, start_date=START)
    table = doc["creators"]
    assert list(doc.tables()) == ["creators"]
    assert len(table) == 2
    assert table.fields == ["creator", "minutesViewed", "viewCount", "trend"]
    trend = table.children["trend"].frame
    assert trend["_parent"].tolist() == [0] * 7 + [1] * 7
    assert trend["date"].tolist() == LABELS * 2


# --- countries -------------------------------------------------------------------------


def test_daily_countries():
    rows = countries(("TR", 3, 1), ("", 2, 2), ("KR", 33, 10), ("US", 3, 1), (None, 1, 4))
    doc = as_json(daily_countries(DAY, rows), m.CountriesDoc)
    assert doc == {
        "schemaVersion": 1,
        "date": "2025-03-11",
        "countries": [
            {"clientCountryName": "KR", "minutesViewed": 33, "viewCount": 10},
            {"clientCountryName": "__null__", "minutesViewed": 3, "viewCount": 6},
            {"clientCountryName": "TR", "minutesViewed": 3, "viewCount": 1},
            {"clientCountryName": "US", "minutesViewed": 3, "viewCount": 1},
        ],
    }
    empty = as_json(daily_countries(DAY, countries()), m.CountriesDoc)
    assert empty["countries"] == []


# --- videos and posts ------------------------------------------------------------------


def test_videos_with_posts():
    rows = videos(
        ("u1", "RYAN", 85, 35),
        ("u2", "RYAN", 65, 28),
        ("u3", "test", 40, 10),
        ("u4", "RYAN", 65, 30),
        ("u5", "", 5, 1),
    )
    meta_rows = metadata(
        meta("u1", "인기포스트23", "첫사랑"),
        meta("u2", "인기포스트45", "다른 제목"),
        meta("u3", "lady001.mp4", ""),
        meta("u4", "인기포스트7.mp4", None),
        meta("u5", "x-1.mp4", "X"),
    )
    doc = posts_json(rows, meta_rows)
    assert list(doc) == ["schemaVersion", "date", "videos", "posts"]
    assert doc["videos"] == [
        {
            "uid": "u1",
            "creator": "RYAN",
            "fileName": "인기포스트23",
            "postName": "인기포스트",
            "realTitle": "첫사랑",
            "minutesViewed": 85,
            "viewCount": 35,
        },
        {
            "uid": "u4",
            "creator": "RYAN",
            "fileName": "인기포스트7.mp4",
            "postName": "인기포스트",
            "realTitle": "인기포스트",  # no title: postName
            "minutesViewed": 65,
            "viewCount": 30,
        },
        {
            "uid": "u2",
            "creator": "RYAN",
            "fileName": "인기포스트45",
            "postName": "인기포스트",
            "realTitle": "다른 제목",
            "minutesViewed": 65,
            "viewCount": 28,
        },
        {
            "uid": "u3",
            "creator": "test",
            "fileName": "lady001.mp4",
            "postName": "lady",
            "realTitle": "lady",  # empty title: postName
            "minutesViewed": 40,
            "viewCount": 10,
        },
        {
            "uid": "u5",
            "creator": "__null__",  # GraphQL creator "" (the REST creator is ignored)
            "fileName": "x-1.mp4",
            "postName": "x",
            "realTitle": "X",
            "minutesViewed": 5,
            "viewCount": 1,
        },
    ]
    assert doc["posts"] == [
        {
            "creator": "RYAN",
            "postName": "인기포스트",
            "realTitle": "첫사랑",  # the first video's in sort order
            "videoCount": 3,
            "minutesViewed": 215,
            "viewCount": 93,
            "topVideos": [
                {"uid": "u1", "fileName": "인기포스트23", "minutesViewed": 85, "viewCount": 35},
                {"uid": "u4", "fileName": "인기포스트7.mp4", "minutesViewed": 65, "viewCount": 30},
                {"uid": "u2", "fileName": "인기포스트45", "minutesViewed": 65, "viewCount": 28},
            ],
        },
        {
            "creator": "test",
            "postName": "lady",
            "realTitle": "lady",
            "videoCount": 1,
            "minutesViewed": 40,
            "viewCount": 10,
            "topVideos": [
                {"uid": "u3", "fileName": "lady001.mp4", "minutesViewed": 40, "viewCount": 10}
            ],
        },
        {
            "creator": "__null__",
            "postName": "x",
            "realTitle": "X",
            "videoCount": 1,
            "minutesViewed": 5,
            "viewCount": 1,
            "topVideos": [{"uid": "u5", "fileName": "x-1.mp4", "minutesViewed": 5, "viewCount": 1}],
        },
    ]


def test_post_real_title_is_the_first_videos_even_when_it_has_none():
    """The first video in sort order has no title: the post's realTitle is its postName,
    not the title of a later video."""
    rows = videos(("a", "c", 9, 1), ("b", "c", 5, 1))
    doc = posts_json(rows, metadata(meta("a", "ep01.mp4"), meta("b", "ep02.mp4", "Title")))
    assert [v["realTitle"] for v in doc["videos"]] == ["ep", "Title"]
    assert doc["posts"][0]["realTitle"] == "ep"


def test_posts_are_keyed_by_creator_and_post_name():
    rows = videos(("a1", "alice", 10, 1), ("b1", "bob", 10, 1), ("a2", "alice", 3, 1))
    meta_rows = metadata(
        meta("a1", "lady001.mp4", "A"),
        meta("b1", "lady002.mp4", "B"),
        meta("a2", "lady003.mp4", "A"),
    )
    doc = posts_json(rows, meta_rows)
    assert [
        (p["creator"], p["postName"], p["videoCount"], p["realTitle"]) for p in doc["posts"]
    ] == [("alice", "lady", 2, "A"), ("bob", "lady", 1, "B")]


def test_posts_sort_ties_by_creator_then_post_name():
    rows = videos(("1", "b", 5, 5), ("2", "a", 5, 5), ("3", "a", 5, 5), ("4", "a", 5, 6))
    meta_rows = metadata(
        meta("1", "p1.mp4"), meta("2", "z1.mp4"), meta("3", "m1.mp4"), meta("4", "q1.mp4")
    )
    doc = posts_json(rows, meta_rows)
    assert [(p["creator"], p["postName"]) for p in doc["posts"]] == [
        ("a", "q"),
        ("a", "m"),
        ("a", "z"),
        ("b", "p"),
    ]
    assert [v["uid"] for v in doc["videos"]] == ["4", "1", "2", "3"]


def test_post_top_videos_at_most_five_in_sort_order():
    rows = videos(*[(f"u{i}", "c", 10 + i % 3, i) for i in range(8)])
    meta_rows = metadata(*[meta(f"u{i}", f"ep{i:03d}.mp4", f"T{i}") for i in range(8)])
    doc = posts_json(rows, meta_rows)
    (post,) = doc["posts"]
    assert post["videoCount"] == 8
    assert post["minutesViewed"] == sum(10 + i % 3 for i in range(8))
    assert [v["uid"] for v in post["topVideos"]] == ["u5", "u2", "u7", "u4", "u1"]
    assert post["realTitle"] == "T5"
    assert len(doc["videos"]) == 8  # the videos list keeps every top-N video


def test_top_videos_of_several_posts_stay_with_their_post():
    """Interleaved videos of two posts: each post's topVideos are its own, ≤5, in order."""
    rows = videos(*[(f"v{i:02d}", "c", 100 - i, 1) for i in range(14)])
    names = {i: ("odd" if i % 2 else "even") + f"{i:02d}.mp4" for i in range(14)}
    doc = posts_json(rows, metadata(*[meta(f"v{i:02d}", names[i]) for i in range(14)]))
    even, odd = doc["posts"]
    assert (even["postName"], odd["postName"]) == ("even", "odd")
    assert [v["uid"] for v in even["topVideos"]] == ["v00", "v02", "v04", "v06", "v08"]
    assert [v["uid"] for v in odd["topVideos"]] == ["v01", "v03", "v05", "v07", "v09"]
    assert (even["videoCount"], odd["videoCount"]) == (7, 7)


def test_deleted_video_and_video_without_name():
    rows = videos(("gone", "RYAN", 9, 3), ("noname", "RYAN", 4, 1), ("ok", "RYAN", 2, 1))
    meta_rows = metadata(
        meta("gone", found=False, creator=None),
        meta("noname", name=None, title="has a title"),
        meta("ok", "lady001.mp4", "첫사랑"),
    )
    doc = posts_json(rows, meta_rows)
    gone, noname, _ = doc["videos"]
    assert gone == {
        "uid": "gone",
        "creator": "RYAN",
        "fileName": None,
        "postName": "__null__",
        "realTitle": "__null__",
        "minutesViewed": 9,
        "viewCount": 3,
    }
    assert (noname["fileName"], noname["postName"], noname["realTitle"]) == (
        None,
        "__null__",
        "__null__",
    )
    null_post = doc["posts"][0]
    assert (null_post["creator"], null_post["postName"], null_post["realTitle"]) == (
        "RYAN",
        "__null__",
        "__null__",
    )
    assert null_post["videoCount"] == 2
    assert null_post["topVideos"][0] == {
        "uid": "gone",
        "fileName": None,
        "minutesViewed": 9,
        "viewCount": 3,
    }
    # an empty meta.name is "without meta.name" too; a 404 keeps no name it may still carry
    doc = posts_json(
        videos(("e", "x", 2, 1), ("d", "x", 1, 1)),
        metadata(meta("e", name="", title="T"), meta("d", "lady001.mp4", "T", found=False)),
    )
    assert [(v["fileName"], v["postName"], v["realTitle"]) for v in doc["videos"]] == [
        (None, "__null__", "__null__"),
        (None, "__null__", "__null__"),
    ]


def test_missing_metadata_is_a_programming_error():
    rows = videos(("u1", "c", 2, 1), ("u2", "c", 1, 1))
    with pytest.raises(MissingMetadataError, match="no metadata for 1 top video") as err:
        videos_with_posts(DAY, rows, metadata(meta("u1")))
    assert "u2" in str(err.value)
    assert isinstance(err.value, KeyError)
    assert isinstance(err.value, ValueError)


def test_missing_metadata_names_at_most_five_videos():
    rows = videos(*[(f"u{i}", "c", 10 - i, 1) for i in range(8)])
    with pytest.raises(MissingMetadataError) as err:
        videos_with_posts(DAY, rows, metadata())
    assert str(err.value) == (
        "no metadata for 8 top video(s) of 2025-03-11: u0, u1, u2, u3, u4 (+3 more)"
    )


def test_repeated_uid_rows_are_summed():
    rows = videos(("u1", "a", 5, 1), ("u1", "b", 7, 1))
    doc = posts_json(rows, metadata(meta("u1", "p1.mp4")))
    assert [
        (v["uid"], v["creator"], v["minutesViewed"], v["viewCount"]) for v in doc["videos"]
    ] == [
        ("u1", "b", 12, 2)  # the creator of the first row in sort order
    ]
    assert doc["posts"][0]["videoCount"] == 1


def test_videos_with_posts_day_without_views():
    doc = posts_json(videos(), metadata())
    assert doc == {"schemaVersion": 1, "date": "2025-03-11", "videos": [], "posts": []}


# --- summary ---------------------------------------------------------------------------


def test_daily_summary():
    hourly = {d: flat_hours(d, 1, 1) for d in WEEK[:-1]}
    hourly[D(2025, 3, 8)] = flat_hours(D(2025, 3, 8))  # a day without views
    hourly[DAY] = hours(DAY, h00=(100, 10), h13=(50, 5), h23=(7, 1))
    creator_rows = creators(
        *[(f"c{i:02d}", 10 + i, i) for i in range(12)], ("", 99, 9), (None, 1, 1)
    )
    country_rows = countries(("KR", 100, 10), ("", 50, 5), ("TR", 7, 1))
    video_rows = videos(*[(f"v{i:02d}", "c", i, 1) for i in range(15)])
    doc = daily_summary(
        DAY,
        hourly,
        creators=creator_rows,
        countries=country_rows,
        videos=video_rows,
        start_date=START,
    )
    data = as_json(doc, m.SummaryDoc)
    assert list(data) == [
        "schemaVersion",
        "date",
        "totalMinutesViewed",
        "totalViewCount",
        "uniqueViewers",
        "topCreators",
        "topCountries",
        "topVideos",
        "dailyTrend",
        "hourlyTrend",
    ]
    # totals from the complete hourly rows, not from any list
    assert (data["totalMinutesViewed"], data["totalViewCount"]) == (157, 16)
    assert data["uniqueViewers"] is None
    assert len(data["topCreators"]) == 10
    assert data["topCreators"][0] == {"creator": "__null__", "minutesViewed": 100, "viewCount": 10}
    assert [c["creator"] for c in data["topCreators"][1:3]] == ["c11", "c10"]
    assert data["topCountries"] == [
        {"clientCountryName": "KR", "minutesViewed": 100, "viewCount": 10},
        {"clientCountryName": "__null__", "minutesViewed": 50, "viewCount": 5},
        {"clientCountryName": "TR", "minutesViewed": 7, "viewCount": 1},
    ]
    assert len(data["topVideos"]) == 10
    assert data["topVideos"][0] == {"uid": "v14", "minutesViewed": 14, "viewCount": 1}
    assert data["dailyTrend"] == series(
        LABELS, (24, 24), (24, 24), (24, 24), Z, (24, 24), (24, 24), (157, 16)
    )
    assert len(data["hourlyTrend"]) == 24
    assert data["hourlyTrend"][0] == {
        "hour": "2025-03-11T00:00:00+09:00",
        "minutesViewed": 100,
        "viewCount": 10,
    }
    assert data["hourlyTrend"][13]["minutesViewed"] == 50
    assert data["hourlyTrend"][23]["hour"] == "2025-03-11T23:00:00+09:00"


def test_daily_summary_missing_and_zero_filled_days():
    hourly = {DAY: flat_hours(DAY, 1, 0)}
    kwargs = {"creators": creators(), "countries": countries(), "videos": videos()}
    with pytest.raises(MissingDaysError) as err:
        daily_summary(DAY, hourly, start_date=D(2025, 3, 9), **kwargs)
    assert err.value.days == (D(2025, 3, 9), D(2025, 3, 10))
    doc = as_json(daily_summary(DAY, hourly, start_date=DAY, **kwargs), m.SummaryDoc)
    assert [t["minutesViewed"] for t in doc["dailyTrend"]] == [0, 0, 0, 0, 0, 0, 24]
    assert doc["totalMinutesViewed"] == 24


def test_daily_summary_day_without_views():
    hourly = {d: flat_hours(d) for d in WEEK}
    doc = daily_summary(
        DAY,
        hourly,
        creators=creators(),
        countries=countries(),
        videos=videos(),
        start_date=START,
    )
    data = as_json(doc, m.SummaryDoc)
    assert data["totalMinutesViewed"] == data["totalViewCount"] == 0
    assert data["topCreators"] == data["topCountries"] == data["topVideos"] == []
    assert data["dailyTrend"] == series(LABELS, *[Z] * 7)
    assert [h["minutesViewed"] for h in data["hourlyTrend"]] == [0] * 24
