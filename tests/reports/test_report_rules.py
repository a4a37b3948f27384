"""The shared report rules: `__null__`, post names, sorting, top lists, windows."""

from __future__ import annotations

import datetime as dt
import gc

import pytest

from stream_stats_dagster.facts import CreatorMinutes
from stream_stats_dagster.reports import rules
from stream_stats_dagster.reports.rules import (
    NULL_KEY,
    MissingDaysError,
    bulk_build,
    merge_rows,
    null_key,
    post_name,
    rank_key,
    ranked_totals,
    resolve_window,
    series,
    strip_extension,
    top_n,
    top_totals,
)

D = dt.date


def test_null_key():
    assert NULL_KEY == "__null__"
    assert null_key("") == "__null__"
    assert null_key(None) == "__null__"
    assert null_key("RYAN") == "RYAN"
    assert null_key(" ") == " "  # only missing/empty is null, values are kept as is


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
    ],
)
def test_post_name(name, expected):
    assert post_name(name) == expected


def test_strip_extension():
    assert strip_extension("lady001.mp4") == "lady001"
    assert strip_extension("a.b.mp4") == "a.b"
    assert strip_extension(".mp4") == ".mp4"
    assert strip_extension("noext") == "noext"


def test_rank_key_three_levels():
    rows = [
        ("b", 10, 5),
        ("a", 10, 5),  # tie on minutes and views: key ascending
        ("c", 10, 9),  # tie on minutes: views desc
        ("d", 20, 1),  # minutes first
        ("B", 10, 5),  # plain str order: uppercase before lowercase
        ("__null__", 10, 5),
    ]
    ordered = sorted(rows, key=lambda r: rank_key(r[1], r[2], r[0]))
    assert [r[0] for r in ordered] == ["d", "c", "B", "__null__", "a", "b"]


def test_top_n_matches_sorted_prefix():
    entries = [(f"k{i % 7}{i}", i % 5, i % 3) for i in range(40)]

    def key(e):
        return rank_key(e[1], e[2], e[0])

    assert top_n(entries, 10, key) == sorted(entries, key=key)[:10]
    assert top_n(entries[:3], 10, key) == sorted(entries[:3], key=key)
    assert top_n([], 10, key) == []


def test_ranked_and_top_totals():
    totals = {"a": [5, 1], "b": [5, 2], "c": [9, 0], "d": [5, 2]}
    assert [k for k, _ in ranked_totals(totals)] == ["c", "b", "d", "a"]
    assert top_totals(totals, 2) == [("c", [9, 0]), ("b", [5, 2])]


def test_merge_rows_sums_null_keys():
    rows = [
        CreatorMinutes(creator="", minutesViewed=3, viewCount=1),
        CreatorMinutes(creator="RYAN", minutesViewed=5, viewCount=2),
        CreatorMinutes(creator="", minutesViewed=4, viewCount=6),
    ]
    assert rules.creator_totals(rows) == {"__null__": [7, 7], "RYAN": [5, 2]}
    into = {"RYAN": [1, 1]}
    merge_rows(rows, lambda r: null_key(r.creator), into=into)
    assert into == {"RYAN": [6, 3], "__null__": [7, 7]}
    assert rules.sum_totals(rows) == [12, 9]


def test_series_zero_fills_none():
    assert series(["2025-03-10", "2025-03-11"], [None, [3, 1]]) == [
        {"date": "2025-03-10", "minutesViewed": 0, "viewCount": 0},
        {"date": "2025-03-11", "minutesViewed": 3, "viewCount": 1},
    ]


def test_key_series_zero_fills_per_key():
    labels = ["d1", "d2", "d3"]
    per_day = [{"a": [1, 1]}, {}, {"a": [2, 3], "b": [5, 5]}]
    stats, m, v = rules.key_series("a", labels, per_day)
    assert [s["minutesViewed"] for s in stats] == [1, 0, 2]
    assert (m, v) == (3, 4)


WINDOW = [D(2025, 3, 5) + dt.timedelta(days=i) for i in range(7)]


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


def test_resolve_window_names_missing_days_of_all_sources():
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


def test_bulk_build_restores_gc_state():
    @bulk_build
    def inner():
        assert not gc.isenabled()
        return 1

    @bulk_build
    def failing():
        raise RuntimeError("boom")

    assert gc.isenabled()
    assert inner() == 1
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        failing()
    assert gc.isenabled()
    gc.disable()
    try:
        inner()
        assert not gc.isenabled()  # a caller's disabled GC stays disabled
    finally:
        gc.enable()


def test_post_name_without_a_name_is_null():
    assert post_name(None) == "__null__"
    assert post_name("") == "__null__"


def test_sort_key_and_top_n_defaults_on_entries():
    from stream_stats_dagster.facts import VideoMinutes
    from stream_stats_dagster.reports.models import PostEntry

    rows = [
        CreatorMinutes(creator="b", minutesViewed=5, viewCount=1),
        CreatorMinutes(creator="a", minutesViewed=5, viewCount=1),
        CreatorMinutes(creator="c", minutesViewed=5, viewCount=2),
        CreatorMinutes(creator="d", minutesViewed=6, viewCount=0),
    ]
    assert [r.creator for r in rules.sort_entries(rows)] == ["d", "c", "a", "b"]
    assert [r.creator for r in top_n(rows, 2)] == ["d", "c"]
    assert rules.sort_key(rows[0]) == (-5, -1, "b")
    assert rules.sort_key(5, 1, "b") == (-5, -1, "b")
    dicts = [{"uid": f"u{i:02d}", "minutesViewed": i % 4, "viewCount": 1} for i in range(30)]
    top = top_n(dicts)
    assert len(top) == 10
    assert [d["uid"] for d in top[:3]] == ["u03", "u07", "u11"]
    window = [
        {"creator": "x", "dailyStats": [], "totalMinutesViewed": 1, "totalViewCount": 1},
        {"creator": "y", "dailyStats": [], "totalMinutesViewed": 2, "totalViewCount": 0},
    ]
    assert [w["creator"] for w in rules.sort_entries(window)] == ["y", "x"]
    assert rules.entry_key(VideoMinutes(uid="u", creator="c", minutesViewed=0, viewCount=0)) == "u"
    post = PostEntry(
        creator="c",
        postName="p",
        realTitle="t",
        videoCount=0,
        minutesViewed=0,
        viewCount=0,
        topVideos=[],
    )
    assert rules.entry_key(post) == ("c", "p")


def test_missing_days_error_pickles():
    import pickle

    err = MissingDaysError([D(2025, 3, 7)], WINDOW)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err)
    assert again.days == err.days
