"""Daily documents on tiny hand-made inputs with known answers."""

from __future__ import annotations

import datetime as dt

import pytest

from stream_stats_dagster.facts import (
    CountryMinutes,
    CreatorMinutes,
    HourMinutes,
    VideoMetadata,
    VideoMinutes,
)
from stream_stats_dagster.reports.daily import (
    MissingMetadataError,
    daily_countries,
    daily_creators,
    daily_summary,
    videos_with_posts,
)
from stream_stats_dagster.reports.rules import MissingDaysError

D = dt.date
DAY = D(2025, 3, 11)
WEEK = [D(2025, 3, 5) + dt.timedelta(days=i) for i in range(7)]  # 03-05 .. 03-11
LABELS = [d.isoformat() for d in WEEK]
START = D(2025, 1, 1)


def C(creator, m, v):
    return CreatorMinutes(creator=creator, minutesViewed=m, viewCount=v)


def K(country, m, v):
    return CountryMinutes(clientCountryName=country, minutesViewed=m, viewCount=v)


def V(uid, creator, m, v):
    return VideoMinutes(uid=uid, creator=creator, minutesViewed=m, viewCount=v)


def H(hour, m, v):
    return HourMinutes(hour=f"2025-03-11T{hour:02d}:00:00+09:00", minutesViewed=m, viewCount=v)


def META(uid, name=None, title=None, found=True, creator="rest-creator"):
    return VideoMetadata(uid=uid, found=found, creator=creator, name=name, title=title)


def zeros(labels=LABELS):
    return [{"date": d, "minutesViewed": 0, "viewCount": 0} for d in labels]


def week_of(rows_for_day):
    return {d: rows_for_day.get(d, []) for d in WEEK}


# --- creators --------------------------------------------------------------------------


def test_daily_creators_trend_and_null_merge():
    rows = week_of(
        {
            D(2025, 3, 5): [C("RYAN", 95, 38)],
            D(2025, 3, 10): [C("", 1, 1), C("test", 4, 2)],
            DAY: [C("RYAN", 120, 45), C("", 3, 1), C("test", 14, 7), C("", 2, 2)],
        }
    )
    doc = daily_creators(DAY, rows, start_date=START)
    dumped = doc.model_dump(mode="json")
    assert list(dumped) == ["schemaVersion", "date", "creators"]
    assert dumped["schemaVersion"] == 1
    assert dumped["date"] == "2025-03-11"
    assert [c["creator"] for c in dumped["creators"]] == ["RYAN", "test", "__null__"]
    ryan, test, null = dumped["creators"]
    assert list(ryan) == ["creator", "minutesViewed", "viewCount", "trend"]
    assert (ryan["minutesViewed"], ryan["viewCount"]) == (120, 45)
    assert [t["date"] for t in ryan["trend"]] == LABELS
    assert [t["minutesViewed"] for t in ryan["trend"]] == [95, 0, 0, 0, 0, 0, 120]
    assert [t["viewCount"] for t in ryan["trend"]] == [38, 0, 0, 0, 0, 0, 45]
    assert (null["minutesViewed"], null["viewCount"]) == (5, 3)  # "" rows merged
    assert [t["minutesViewed"] for t in null["trend"]] == [0, 0, 0, 0, 0, 1, 5]
    assert [t["minutesViewed"] for t in test["trend"]] == [0, 0, 0, 0, 0, 4, 14]


def test_daily_creators_only_creators_with_a_row_that_day():
    rows = week_of({D(2025, 3, 10): [C("gone", 50, 5)], DAY: [C("here", 1, 1)]})
    doc = daily_creators(DAY, rows, start_date=START)
    assert [c.creator for c in doc.creators] == ["here"]


def test_daily_creators_sort_three_levels():
    rows = week_of(
        {DAY: [C("b", 10, 5), C("a", 10, 5), C("c", 10, 6), C("d", 11, 0), C("B", 10, 5)]}
    )
    doc = daily_creators(DAY, rows, start_date=START)
    assert [c.creator for c in doc.creators] == ["d", "c", "B", "a", "b"]


def test_daily_creators_days_before_start_date_are_zero_filled():
    # only the day itself is known, start_date is the day: d-6..d-1 are zero-filled
    doc = daily_creators(DAY, {DAY: [C("RYAN", 7, 2)]}, start_date=DAY)
    trend = doc.model_dump(mode="json")["creators"][0]["trend"]
    today = {"date": "2025-03-11", "minutesViewed": 7, "viewCount": 2}
    assert trend == [*zeros(LABELS[:6]), today]
    # None before start_date is zero-filled as well; a present day before it is used
    rows = {D(2025, 3, 5): [C("RYAN", 3, 1)], D(2025, 3, 6): None, DAY: [C("RYAN", 7, 2)]}
    rows.update({d: [] for d in WEEK[2:6]})
    doc = daily_creators(DAY, rows, start_date=D(2025, 3, 7))
    assert [t.minutesViewed for t in doc.creators[0].trend] == [3, 0, 0, 0, 0, 0, 7]


def test_daily_creators_missing_days_raise():
    rows = week_of({DAY: [C("RYAN", 7, 2)]})
    del rows[D(2025, 3, 7)]
    rows[D(2025, 3, 9)] = None
    with pytest.raises(MissingDaysError) as err:
        daily_creators(DAY, rows, start_date=START)
    assert str(err.value) == (
        "missing data for 2025-03-07, 2025-03-09 (window 2025-03-05..2025-03-11)"
    )
    # the same gaps before the start date are fine
    doc = daily_creators(DAY, rows, start_date=D(2025, 3, 10))
    assert doc.creators[0].trend[2].minutesViewed == 0


def test_daily_creators_missing_day_itself_raises():
    rows = week_of({})
    del rows[DAY]
    with pytest.raises(MissingDaysError, match="missing data for 2025-03-11 "):
        daily_creators(DAY, rows, start_date=START)


def test_daily_creators_day_without_views():
    doc = daily_creators(DAY, week_of({}), start_date=START)
    assert doc.model_dump(mode="json") == {
        "schemaVersion": 1,
        "date": "2025-03-11",
        "creators": [],
    }


# --- countries -------------------------------------------------------------------------


def test_daily_countries():
    rows = [K("TR", 3, 1), K("", 2, 2), K("KR", 33, 10), K("US", 3, 1), K("", 1, 4)]
    doc = daily_countries(DAY, rows)
    assert doc.model_dump(mode="json") == {
        "schemaVersion": 1,
        "date": "2025-03-11",
        "countries": [
            {"clientCountryName": "KR", "minutesViewed": 33, "viewCount": 10},
            {"clientCountryName": "__null__", "minutesViewed": 3, "viewCount": 6},
            {"clientCountryName": "TR", "minutesViewed": 3, "viewCount": 1},
            {"clientCountryName": "US", "minutesViewed": 3, "viewCount": 1},
        ],
    }
    assert daily_countries(DAY, []).countries == []


# --- videos and posts ------------------------------------------------------------------


def test_videos_with_posts():
    videos = [
        V("u1", "RYAN", 85, 35),
        V("u2", "RYAN", 65, 28),
        V("u3", "test", 40, 10),
        V("u4", "RYAN", 65, 30),
        V("u5", "", 5, 1),
    ]
    meta = {
        "u1": META("u1", "인기포스트23", "첫사랑"),
        "u2": META("u2", "인기포스트45", "다른 제목"),
        "u3": META("u3", "lady001.mp4", ""),
        "u4": META("u4", "인기포스트7.mp4", None),
        "u5": META("u5", "x-1.mp4", "X"),
    }
    doc = videos_with_posts(DAY, videos, meta).model_dump(mode="json")
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


def test_posts_are_keyed_by_creator_and_post_name():
    videos = [V("a1", "alice", 10, 1), V("b1", "bob", 10, 1), V("a2", "alice", 3, 1)]
    meta = {
        "a1": META("a1", "lady001.mp4", "A"),
        "b1": META("b1", "lady002.mp4", "B"),
        "a2": META("a2", "lady003.mp4", "A"),
    }
    doc = videos_with_posts(DAY, videos, meta)
    assert [(p.creator, p.postName, p.videoCount, p.realTitle) for p in doc.posts] == [
        ("alice", "lady", 2, "A"),
        ("bob", "lady", 1, "B"),
    ]


def test_posts_sort_ties_by_creator_then_post_name():
    videos = [V("1", "b", 5, 5), V("2", "a", 5, 5), V("3", "a", 5, 5), V("4", "a", 5, 6)]
    meta = {
        "1": META("1", "p1.mp4"),
        "2": META("2", "z1.mp4"),
        "3": META("3", "m1.mp4"),
        "4": META("4", "q1.mp4"),
    }
    doc = videos_with_posts(DAY, videos, meta)
    assert [(p.creator, p.postName) for p in doc.posts] == [
        ("a", "q"),
        ("a", "m"),
        ("a", "z"),
        ("b", "p"),
    ]
    assert [v.uid for v in doc.videos] == ["4", "1", "2", "3"]


def test_post_top_videos_at_most_five_in_sort_order():
    videos = [V(f"u{i}", "c", 10 + i % 3, i) for i in range(8)]
    meta = {f"u{i}": META(f"u{i}", f"ep{i:03d}.mp4", f"T{i}") for i in range(8)}
    doc = videos_with_posts(DAY, videos, meta)
    (post,) = doc.posts
    assert post.videoCount == 8
    assert post.minutesViewed == sum(10 + i % 3 for i in range(8))
    assert [v.uid for v in post.topVideos] == ["u5", "u2", "u7", "u4", "u1"]
    assert post.realTitle == "T5"
    assert len(doc.videos) == 8  # the videos list keeps every top-N video


def test_deleted_video_and_video_without_name():
    videos = [V("gone", "RYAN", 9, 3), V("noname", "RYAN", 4, 1), V("ok", "RYAN", 2, 1)]
    meta = {
        "gone": META("gone", found=False, creator=None),
        "noname": META("noname", name=None, title="has a title"),
        "ok": META("ok", "lady001.mp4", "첫사랑"),
    }
    doc = videos_with_posts(DAY, videos, meta).model_dump(mode="json")
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
    # an empty meta.name is "without meta.name" too
    doc = videos_with_posts(DAY, [V("e", "x", 1, 1)], {"e": META("e", name="")})
    assert doc.videos[0].postName == "__null__"


def test_missing_metadata_is_a_programming_error():
    with pytest.raises(MissingMetadataError, match="no metadata for 1 top video") as err:
        videos_with_posts(DAY, [V("u1", "c", 1, 1), V("u2", "c", 1, 1)], {"u1": META("u1")})
    assert "u2" in str(err.value)
    assert isinstance(err.value, KeyError)
    assert isinstance(err.value, ValueError)


def test_repeated_uid_rows_are_summed():
    videos = [V("u1", "a", 5, 1), V("u1", "b", 7, 1)]
    doc = videos_with_posts(DAY, videos, {"u1": META("u1", "p1.mp4")})
    assert [(v.uid, v.creator, v.minutesViewed, v.viewCount) for v in doc.videos] == [
        ("u1", "b", 12, 2)
    ]


def test_videos_with_posts_day_without_views():
    doc = videos_with_posts(DAY, [], {})
    assert doc.model_dump(mode="json") == {
        "schemaVersion": 1,
        "date": "2025-03-11",
        "videos": [],
        "posts": [],
    }


# --- summary ---------------------------------------------------------------------------


def hourly_day(day, values):
    return [
        HourMinutes(hour=f"{day.isoformat()}T{h:02d}:00:00+09:00", minutesViewed=m, viewCount=v)
        for h, (m, v) in enumerate(values)
    ]


def full_hours(day, m=0, v=0, **special):
    values = [(m, v)] * 24
    for hour, mv in special.items():
        values[int(hour[1:])] = mv
    return hourly_day(day, values)


def test_daily_summary():
    hourly = {d: full_hours(d, 1, 1) for d in WEEK[:-1]}
    hourly[D(2025, 3, 8)] = full_hours(D(2025, 3, 8))  # a day without views
    hourly[DAY] = full_hours(DAY, 0, 0, h00=(100, 10), h13=(50, 5), h23=(7, 1))
    creators = [C(f"c{i:02d}", 10 + i, i) for i in range(12)] + [C("", 99, 9), C("", 1, 1)]
    countries = [K("KR", 100, 10), K("", 50, 5), K("TR", 7, 1)]
    videos = [V(f"v{i:02d}", "c", i, 1) for i in range(15)]
    doc = daily_summary(
        DAY,
        hourly,
        creators=creators,
        countries=countries,
        videos=videos,
        start_date=START,
    ).model_dump(mode="json")
    assert list(doc) == [
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
    assert (doc["totalMinutesViewed"], doc["totalViewCount"]) == (157, 16)
    assert doc["uniqueViewers"] is None
    assert len(doc["topCreators"]) == 10
    assert doc["topCreators"][0] == {"creator": "__null__", "minutesViewed": 100, "viewCount": 10}
    assert [c["creator"] for c in doc["topCreators"][1:3]] == ["c11", "c10"]
    assert doc["topCountries"] == [
        {"clientCountryName": "KR", "minutesViewed": 100, "viewCount": 10},
        {"clientCountryName": "__null__", "minutesViewed": 50, "viewCount": 5},
        {"clientCountryName": "TR", "minutesViewed": 7, "viewCount": 1},
    ]
    assert len(doc["topVideos"]) == 10
    assert doc["topVideos"][0] == {"uid": "v14", "minutesViewed": 14, "viewCount": 1}
    assert doc["dailyTrend"] == [
        {"date": "2025-03-05", "minutesViewed": 24, "viewCount": 24},
        {"date": "2025-03-06", "minutesViewed": 24, "viewCount": 24},
        {"date": "2025-03-07", "minutesViewed": 24, "viewCount": 24},
        {"date": "2025-03-08", "minutesViewed": 0, "viewCount": 0},
        {"date": "2025-03-09", "minutesViewed": 24, "viewCount": 24},
        {"date": "2025-03-10", "minutesViewed": 24, "viewCount": 24},
        {"date": "2025-03-11", "minutesViewed": 157, "viewCount": 16},
    ]
    assert len(doc["hourlyTrend"]) == 24
    assert doc["hourlyTrend"][0] == {
        "hour": "2025-03-11T00:00:00+09:00",
        "minutesViewed": 100,
        "viewCount": 10,
    }
    assert doc["hourlyTrend"][13]["minutesViewed"] == 50
    assert doc["hourlyTrend"][23]["hour"] == "2025-03-11T23:00:00+09:00"


def test_daily_summary_missing_and_zero_filled_days():
    hourly = {DAY: full_hours(DAY, 1, 0)}
    kwargs = {"creators": [], "countries": [], "videos": []}
    with pytest.raises(MissingDaysError) as err:
        daily_summary(DAY, hourly, start_date=D(2025, 3, 9), **kwargs)
    assert err.value.days == (D(2025, 3, 9), D(2025, 3, 10))
    doc = daily_summary(DAY, hourly, start_date=DAY, **kwargs)
    assert [t.minutesViewed for t in doc.dailyTrend] == [0, 0, 0, 0, 0, 0, 24]
    assert doc.totalMinutesViewed == 24


def test_daily_summary_day_without_views():
    hourly = {d: full_hours(d) for d in WEEK}
    doc = daily_summary(DAY, hourly, creators=[], countries=[], videos=[], start_date=START)
    dumped = doc.model_dump(mode="json")
    assert dumped["totalMinutesViewed"] == dumped["totalViewCount"] == 0
    assert dumped["topCreators"] == dumped["topCountries"] == dumped["topVideos"] == []
    assert dumped["dailyTrend"] == zeros()
    assert [h["minutesViewed"] for h in dumped["hourlyTrend"]] == [0] * 24
