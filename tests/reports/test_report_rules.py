"""The shared report rules over frames: `__null__`, post names, sorting, top lists,
sums per key, window resolution and zero-filled series."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pandas as pd
import pytest

from stream_stats_dagster.reports.rules import (
    NULL_KEY,
    MissingDaysError,
    null_key,
    null_keys,
    post_name,
    ranked,
    resolve_window,
    series_matrix,
    strip_extension,
    top,
    totals_by,
)
from tests.reports.inputs import D, creators, days

WINDOW = days(D(2025, 3, 5))  # 03-05 .. 03-11


def test_null_key():
    assert NULL_KEY == "__null__"
    assert null_key("") == "__null__"
    assert null_key(None) == "__null__"
    assert null_key("RYAN") == "RYAN"
    assert null_key(" ") == " "  # only missing/empty is null, values are kept as is


def test_null_keys_of_a_column():
    column = pd.Series(["RYAN", "", None, " ", np.nan], dtype=object)
    assert null_keys(column).tolist() == ["RYAN", "__null__", "__null__", " ", "__null__"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lady001.mp4", "lady"),
        ("lady004.mp4", "lady"),
        ("인기포스트23", "인기포스트"),
        ("lady-2-003.mp4", "lady-2"),
        ("123.mp4", "123"),
        ("lady.mp4", "lady"),
        ("lady", "lady"),
        ("lady_01.mov", "lady"),
        ("lady - 01.mp4", "lady"),
        ("lady -_ 01.mp4", "lady"),
        ("lady01-.mp4", "lady01"),  # separators stripped only after the digits, once
        ("lady1a2.mp4", "lady1a"),
        ("lady 2 3.mp4", "lady 2"),  # one run of digits, then one run of separators
        ("my.video.007.mp4", "my.video."),
        ("lady001", "lady"),
        (".mp4", ".mp"),  # a dot at position 0 is no extension; then digits go
        (".hidden01", ".hidden"),
        ("007", "007"),
        ("00-7.mp4", "00"),
        ("---001.mp4", "---001"),  # nothing left: the name without extension
        ("lady001.MP4", "lady"),
        ("lady001.", "lady"),
        ("ｌａｄｙ１２.mp4", "ｌａｄｙ１２"),  # only ASCII digits are stripped
        ("인기포스트_12.mp4", "인기포스트"),
        (None, "__null__"),  # no name at all
        ("", "__null__"),
    ],
)
def test_post_name(name, expected):
    assert post_name(name) == expected


def test_strip_extension():
    assert strip_extension("lady001.mp4") == "lady001"
    assert strip_extension("a.b.mp4") == "a.b"
    assert strip_extension(".mp4") == ".mp4"
    assert strip_extension("noext") == "noext"


def test_ranked_three_levels_plain_str_order():
    frame = creators(
        ("b", 10, 5),
        ("a", 10, 5),  # tie on minutes and views: key ascending
        ("c", 10, 9),  # tie on minutes: views desc
        ("d", 20, 1),  # minutes first
        ("B", 10, 5),  # plain str order: uppercase before lowercase
        ("__null__", 10, 5),
    )
    out = ranked(frame, "creator")
    assert out["creator"].tolist() == ["d", "c", "B", "__null__", "a", "b"]
    assert out.index.tolist() == list(range(6))


def test_ranked_on_two_keys_and_other_value_columns():
    posts = pd.DataFrame(
        {
            "creator": ["b", "a", "a", "a"],
            "postName": ["p", "z", "m", "q"],
            "totalMinutesViewed": [5, 5, 5, 5],
            "totalViewCount": [5, 5, 5, 6],
        }
    )
    out = ranked(posts, ["creator", "postName"], "totalMinutesViewed", "totalViewCount")
    assert list(zip(out["creator"], out["postName"], strict=True)) == [
        ("a", "q"),
        ("a", "m"),
        ("a", "z"),
        ("b", "p"),
    ]


def test_top_is_the_sorted_prefix_shaped_as_a_top_list():
    rows = [(f"k{i % 7}{i}", i % 5, i % 3) for i in range(40)]
    frame = creators(*rows)
    expected = sorted(rows, key=lambda r: (-r[1], -r[2], r[0]))
    out = top(frame, "creator")
    assert list(out.columns) == ["creator", "minutesViewed", "viewCount"]
    assert list(out.itertuples(index=False, name=None)) == expected[:10]
    assert len(top(frame.head(3), "creator")) == 3
    assert top(frame.head(0), "creator").empty
    assert top(frame, "creator", n=2)["creator"].tolist() == [r[0] for r in expected[:2]]


def test_totals_by_sums_per_key_in_first_appearance_order():
    frame = creators(("b", 1, 1), ("a", 2, 2), ("b", 3, 4))
    out = totals_by(frame, "creator")
    assert out.to_dict("records") == [
        {"creator": "b", "minutesViewed": 4, "viewCount": 5},
        {"creator": "a", "minutesViewed": 2, "viewCount": 2},
    ]
    empty = totals_by(frame.head(0), "creator")
    assert list(empty.columns) == ["creator", "minutesViewed", "viewCount"]
    assert empty.empty and empty["minutesViewed"].dtype == np.int64


def test_series_matrix_zero_fills_per_key_and_day():
    keys = pd.Index(["a", "b"])
    per_day = [
        creators(("a", 1, 1)),
        None,  # a zero-filled day
        creators(("a", 2, 3), ("b", 5, 5), ("other", 9, 9)),  # keys not asked for: ignored
        creators(),
    ]
    minutes, views = series_matrix(keys, per_day, "creator")
    assert minutes.tolist() == [[1, 0, 2, 0], [0, 0, 5, 0]]
    assert views.tolist() == [[1, 0, 3, 0], [0, 0, 5, 0]]


def test_resolve_window_zero_fills_before_start_date():
    found = {D(2025, 3, 9): "x", D(2025, 3, 11): "y", D(2025, 3, 10): None}
    # start 2025-03-12: every day is before it, all absent/None days are zero-filled
    got = resolve_window(WINDOW, found, start_date=D(2025, 3, 12))
    assert got == [None, None, None, None, "x", None, "y"]
    # a day present before start_date is used
    got = resolve_window(WINDOW, {d: d.day for d in WINDOW}, start_date=D(2025, 3, 8))
    assert got == [5, 6, 7, 8, 9, 10, 11]


def test_resolve_window_missing_days_message():
    found = {d: 1 for d in WINDOW if d not in (D(2025, 3, 7), D(2025, 3, 9))}
    found[D(2025, 3, 9)] = None  # None counts as missing too
    with pytest.raises(MissingDaysError) as err:
        resolve_window(WINDOW, found, start_date=D(2025, 3, 1))
    assert str(err.value) == (
        "missing data for 2025-03-07, 2025-03-09 (window 2025-03-05..2025-03-11)"
    )
    assert err.value.days == (D(2025, 3, 7), D(2025, 3, 9))
    assert isinstance(err.value, ValueError)
    assert "\n" not in str(err.value)


def test_resolve_window_only_days_from_start_date_are_missing():
    with pytest.raises(MissingDaysError) as err:
        resolve_window(WINDOW, {}, start_date=D(2025, 3, 10))
    assert err.value.days == (D(2025, 3, 10), D(2025, 3, 11))


def test_resolve_window_names_missing_days_of_all_sources_in_one_line():
    full = {d: 1 for d in WINDOW}
    other = {d: 1 for d in WINDOW if d != D(2025, 3, 6)}
    with pytest.raises(MissingDaysError) as err:
        resolve_window(
            WINDOW,
            {d: 1 for d in WINDOW if d != D(2025, 3, 8)},
            start_date=D(2025, 1, 1),
            sources=[full, other],
        )
    assert err.value.days == (D(2025, 3, 6), D(2025, 3, 8))
    assert str(err.value) == (
        "missing data for 2025-03-06, 2025-03-08 (window 2025-03-05..2025-03-11)"
    )


def test_missing_days_error_pickles():
    err = MissingDaysError([D(2025, 3, 7)], WINDOW)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err)
    assert again.days == err.days
    assert again.window == (dt.date(2025, 3, 5), dt.date(2025, 3, 11))
