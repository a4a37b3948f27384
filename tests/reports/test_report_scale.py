"""More than 10,000 creators × 7 days: correct and complete, and problems deep inside a
large document are found and named. (Speed is measured by the bench, not here.)"""

from __future__ import annotations

import copy
import datetime as dt

import pandas as pd
import pytest

from stream_stats_dagster.dates import window_days
from stream_stats_dagster.defs.checks import SINGLE_DOCUMENT_CHECKS
from stream_stats_dagster.reports import checks
from stream_stats_dagster.reports import models as m
from stream_stats_dagster.reports.daily import daily_creators
from stream_stats_dagster.reports.tables import PARENT, Table
from stream_stats_dagster.reports.windows import rolling_creators, weekly_creators
from tests.reports.inputs import creators

END = dt.date(2025, 3, 16)  # Sunday: the rolling window is the ISO week of 2025-03-10
DAYS = window_days(END)
N = 10_500


def rows_of(day: dt.date) -> pd.DataFrame:
    # creator i has views on days where (i + day) % 3 != 0; "" merges into __null__
    kept = [i for i in range(N) if (i + day.day) % 3 != 0]
    return creators(*[(f"c{i:05d}", i % 97 + 1, i % 13 + 1) for i in kept], ("", 5, 5))


@pytest.fixture(scope="module")
def large():
    facts = {d: rows_of(d) for d in DAYS}
    return facts, daily_creators(END, facts, start_date=DAYS[0])


def test_more_than_10000_creators(large):
    facts, doc = large
    frame = doc["creators"].frame
    today = facts[END]
    assert len(frame) == len(today) > 7000
    expected = sorted(
        zip(today["minutesViewed"], today["viewCount"], today["creator"], strict=True),
        key=lambda r: (-r[0], -r[1], r[2] or "__null__"),
    )
    assert frame["creator"].tolist() == [c or "__null__" for _, _, c in expected]
    trend = doc["creators"].children["trend"].frame
    assert len(trend) == 7 * len(frame)
    # a creator's trend holds its value of each day, zero on the days without a row
    position = frame.index[frame["creator"] == "c00001"][0]
    got = trend.loc[trend[PARENT] == position, "minutesViewed"].tolist()
    assert got == [0 if (1 + d.day) % 3 == 0 else 2 for d in DAYS]
    for name, check in SINGLE_DOCUMENT_CHECKS.items():
        assert check(doc).passed, name
    head = doc["creators"].records()[:3]  # the JSON entries, as the small tests validate them
    assert [m.CreatorDay.model_validate(e).creator for e in head] == frame["creator"][:3].tolist()


def test_windows_of_more_than_10000_creators(large):
    facts, _ = large
    rolling = rolling_creators(END, facts, start_date=DAYS[0])
    frame = rolling["creators"].frame
    assert len(frame) == N + 1  # everyone had views on some day, plus __null__
    total = int(frame["totalMinutesViewed"].sum())
    assert total == sum(int(rows["minutesViewed"].sum()) for rows in facts.values())
    null = frame[frame["creator"] == "__null__"].iloc[0]
    assert (null["totalMinutesViewed"], null["totalViewCount"]) == (35, 35)
    weekly = weekly_creators(DAYS[0], facts, start_date=DAYS[0])
    pd.testing.assert_frame_equal(weekly["creators"].frame, frame)
    pd.testing.assert_frame_equal(
        weekly["creators"].children["dailyStats"].frame,
        rolling["creators"].children["dailyStats"].frame,
    )
    for name, check in SINGLE_DOCUMENT_CHECKS.items():
        assert check(rolling).passed, name


def test_problems_deep_in_a_large_document(large):
    """A few broken entries among 7,000: each check finds and names them."""
    _, doc = large
    doc = copy.deepcopy(doc)
    table = doc["creators"]
    frame, trend = table.frame, table.children["trend"].frame
    names = frame["creator"]
    assert len(frame) > 6500
    trend.loc[6000 * 7 + 2, "viewCount"] = -1  # a negative value deep in a trend
    frame.loc[5000, "minutesViewed"] += 1000  # out of order, and no longer its trend's value
    doc.fields["creators"] = Table(
        pd.concat([frame, frame.iloc[[42]]], ignore_index=True),  # a duplicate creator
        {"trend": Table(trend.drop(index=4000 * 7).reset_index(drop=True))},  # a day missing
        table.order,
    )
    results = {name: check(doc) for name, check in SINGLE_DOCUMENT_CHECKS.items()}
    assert results["no_negative_values"].description == (
        f"no negative values: creators[].trend {names[6000]!r} '2025-03-12': viewCount < 0"
    )
    assert results["no_duplicate_keys"].description == (
        f"no duplicate keys: creators: {names[42]!r} repeated"
    )
    assert results["series_complete"].description.startswith(
        f"series complete: creators[].trend of {names[4000]!r} has dates ['2025-03-11', "
    )
    assert f"out of order at {names[5000]!r}" in results["lists_in_order"].description
    assert (
        f"creators {names[5000]!r}: trend for 2025-03-16 differs from the day"
        in results["parts_add_up"].description
    )


def test_checks_show_at_most_max_shown_problems(large):
    _, doc = large
    doc = copy.deepcopy(doc)
    doc["creators"].frame["viewCount"] = -1
    result = checks.no_negative_values(doc)
    assert len(result.metadata["first problems"]) == checks.MAX_SHOWN
    assert result.metadata["first problems"][0].startswith("creators ")
    assert len(result.description) < 500


def test_checks_count_every_problem(large):
    _, doc = large
    doc = copy.deepcopy(doc)
    doc["creators"].frame["viewCount"] = -1
    result = checks.no_negative_values(doc)
    assert result.metadata["problems"] == len(doc["creators"])
