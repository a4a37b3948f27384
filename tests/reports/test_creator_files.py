"""Each creator's own files from the all-creator tables: their rows, byte for byte, their
videos from the complete per-uid minutes, and nothing of anyone else's."""

from __future__ import annotations

import json

import pandas as pd

from stream_stats_dagster.reports import daily, windows
from stream_stats_dagster.reports.checks import one_key_per_creator
from stream_stats_dagster.reports.creator_files import (
    creator_day_files,
    creator_week_files,
    uid_metadata,
)
from stream_stats_dagster.reports.models import CreatorDayFile, CreatorWeekFile
from tests.reports.inputs import START, D, creators, days, videos

DAY = D(2025, 3, 11)
WINDOW = days(D(2025, 3, 5))
ROWS = {d: creators(("RYAN", 10 + i, 2), ("미나", 3, 1)) for i, d in enumerate(WINDOW)}
ROWS[DAY] = creators(("RYAN", 120, 45), ("", 7, 3))  # 미나: no views on the day, "" is null
UIDS = videos(
    ("u1", "RYAN", 85, 35),
    ("u2", "RYAN", 35, 10),
    ("u3", None, 7, 3),
    ("u9", "GHOST", 4, 1),  # a creator the creator query did not see (a late view)
)
CATALOG = pd.DataFrame(
    {
        "uid": ["u1", "u2", "u3"],
        "name": ["lady001.mp4", "lady002.mp4", None],
        "title": ["Lady", None, None],
    }
)


def build():
    creators_doc = daily.daily_creators(DAY, ROWS, start_date=START)
    last7 = windows.rolling_creators(DAY, ROWS, start_date=START)
    videos_doc = daily.videos_with_posts(DAY, UIDS, uid_metadata(UIDS["uid"], CATALOG))
    return creators_doc, last7, videos_doc, creator_day_files(DAY, creators_doc, last7, videos_doc)


def test_day_files_hold_their_rows_and_only_theirs():
    creators_doc, last7, _videos, built = build()
    assert sorted(built.files) == sorted(["RYAN", "미나", "__null__"])
    day_rows = {r["creator"]: r for r in creators_doc["creators"].records()}
    window_rows = {r["creator"]: r for r in last7["creators"].records()}
    for creator, body in built.files.items():
        assert body.endswith(b"\n")
        doc = json.loads(body)
        CreatorDayFile.model_validate(doc)
        assert doc["creator"] == creator
        assert doc["day"] == day_rows.get(creator)
        assert doc["last7Days"] == window_rows[creator]
        assert (doc["startDate"], doc["endDate"]) == ("2025-03-05", "2025-03-11")
        assert {v["creator"] for v in doc["videos"]} <= {creator}
        assert {p["creator"] for p in doc["posts"]} <= {creator}
        others = set(built.files) - {creator}
        text = body.decode()
        assert not any(f'"{o}"' in text for o in others)
    ryan = json.loads(built.files["RYAN"])
    assert [v["uid"] for v in ryan["videos"]] == ["u1", "u2"]
    assert [(p["postName"], p["videoCount"], p["minutesViewed"]) for p in ryan["posts"]] == [
        ("lady", 2, 120)
    ]
    assert json.loads(built.files["미나"])["day"] is None  # in the window, not on the day
    null = json.loads(built.files["__null__"])["videos"]
    assert null == [
        {
            "uid": "u3",
            "creator": "__null__",
            "fileName": None,
            "postName": "__null__",
            "realTitle": "__null__",
            "minutesViewed": 7,
            "viewCount": 3,
        }
    ]
    assert (built.videos_without_file, built.minutes_without_file) == (1, 4)


def test_videos_equal_the_per_uid_minutes():
    _, _, _, built = build()
    listed = {
        v["uid"]: (v["minutesViewed"], v["viewCount"])
        for body in built.files.values()
        for v in json.loads(body)["videos"]
    }
    expected = {
        r.uid: (r.minutesViewed, r.viewCount) for r in UIDS.itertuples() if r.creator != "GHOST"
    }
    assert listed == expected


def test_week_files_are_the_weekly_rows():
    monday = D(2025, 3, 3)
    doc = windows.weekly_creators(monday, ROWS, start_date=D(2025, 3, 5))
    files = creator_week_files(doc)
    rows = {r["creator"]: r for r in doc["creators"].records()}
    assert set(files) == set(rows)
    for creator, body in files.items():
        parsed = json.loads(body)
        CreatorWeekFile.model_validate(parsed)
        assert parsed["week"] == rows[creator]
        assert (parsed["weekStart"], parsed["weekEnd"]) == ("2025-03-03", "2025-03-09")


def test_shared_creator_keys_are_found():
    assert one_key_per_creator(["a", "b", "c"], lambda c: c).passed
    shared = one_key_per_creator(["a", "b", "c"], lambda c: "k" if c != "c" else "z")
    assert not shared.passed and "key k shared by ['a', 'b']" in shared.description
    assert shared.metadata["problems"] == 1
