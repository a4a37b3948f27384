"""The asset checks on documents of 11,000+ creators × 7-day series: same verdicts as on
the JSON form, and fast.

Measured on a 2-core VM: `document_checks` ~0.05 s on a daily creators document (~5 MB of
JSON) and ~0.06 s on a rolling window, against ~0.5 s / ~0.7 s when every check walked the
dumped JSON. The bound only guards against falling back to a walk of every value, without
flaking on a busy CI machine; a document with a few problems walks only the entries that
hold them (counted, not timed).
"""

from __future__ import annotations

import copy
import datetime as dt
import time

import pytest

from stream_stats_dagster.dates import window_days
from stream_stats_dagster.defs.checks import SINGLE_DOCUMENT_CHECKS, WINDOW_CHECKS, document_checks
from stream_stats_dagster.facts import CreatorMinutes
from stream_stats_dagster.reports import checks
from stream_stats_dagster.reports.daily import daily_creators
from stream_stats_dagster.reports.windows import rolling_creators

END = dt.date(2025, 3, 16)
DAYS = window_days(END)
N = 11_500
LIMIT_SECONDS = 0.4
ALL_CHECKS = list(SINGLE_DOCUMENT_CHECKS)


def rows_of(day: dt.date) -> list[CreatorMinutes]:
    # creator i misses one day in 20; "" merges into __null__
    rows = [
        CreatorMinutes(creator=f"c{i:05d}", minutesViewed=i % 97 + 1, viewCount=i % 13 + 1)
        for i in range(N)
        if (i * 7 + day.day) % 20 != 0
    ]
    rows.append(CreatorMinutes(creator="", minutesViewed=5, viewCount=5))
    return rows


@pytest.fixture(scope="module")
def large():
    facts = {d: rows_of(d) for d in DAYS}
    days = {d: daily_creators(d, facts, start_date=DAYS[0]) for d in DAYS}
    return {
        "creators": days[END],
        "rolling_creators": rolling_creators(END, days, start_date=DAYS[0]),
    }


def fastest(run, runs=3):
    best, result = float("inf"), None
    for _ in range(runs):
        t = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - t)
    return result, best


@pytest.mark.parametrize("name", ["creators", "rolling_creators"])
def test_document_checks_are_fast(large, name):
    doc = large[name]
    assert len(doc.creators) > 10_000
    results, seconds = fastest(lambda: document_checks({"d": doc}, WINDOW_CHECKS))
    assert all(r.passed for r in results["d"].values()), results
    assert seconds < LIMIT_SECONDS, f"document_checks on {name} took {seconds:.3f}s"


@pytest.mark.parametrize("name", ["creators", "rolling_creators"])
def test_same_results_as_on_the_json(large, name):
    doc = large[name]
    data = doc.model_dump(mode="json")
    expected = {check: SINGLE_DOCUMENT_CHECKS[check](data) for check in ALL_CHECKS}
    assert document_checks({"d": doc}, ALL_CHECKS)["d"] == expected
    assert expected["no_duplicate_keys"].metadata["lists_checked"] == 1 + len(doc.creators)
    assert expected["series_complete"].metadata["series_checked"] == len(doc.creators)


@pytest.fixture
def walked(monkeypatch):
    """How many nodes the entry-by-entry walk visits."""
    counts = {"nodes": 0}
    for name in ("_lists", "_negatives"):
        walk = getattr(checks, name)

        def counting(*args, walk=walk, **kwargs):
            counts["nodes"] += 1
            return walk(*args, **kwargs)

        monkeypatch.setattr(checks, name, counting)
    return counts


def test_problems_deep_in_a_large_document(large, walked):
    """A few broken entries among 11,000: found, named, the same on model and dict, and
    only the suspect entries are walked one by one."""
    data = copy.deepcopy(large["creators"].model_dump(mode="json"))
    entries = data["creators"]
    entries[9000]["trend"][2]["viewCount"] = -1  # a negative value deep in a trend
    entries[5000]["trend"][3]["minutesViewed"] += 1  # not today's value: sums still fine
    del entries[7000]["trend"][0]  # a missing series day
    entries.append(copy.deepcopy(entries[42]))  # a duplicate creator, out of order too
    doc = type(large["creators"]).model_validate(data)
    results = document_checks({"d": doc}, ALL_CHECKS)["d"]
    assert walked["nodes"] < 500  # a few entries of ~25 nodes, not 11,000 of them
    assert results == {check: SINGLE_DOCUMENT_CHECKS[check](data) for check in ALL_CHECKS}
    name = entries[42]["creator"]
    assert results["no_negative_values"].description == (
        "no negative values: creators[9000].trend[2].viewCount = -1"
    )
    assert results["no_duplicate_keys"].description == (
        f"no duplicate keys: creators repeats {name!r}"
    )
    assert results["series_complete"].description.startswith(
        "series complete: creators[7000].trend has dates ['2025-03-11', "
    )
    n = len(entries) - 1
    assert results["lists_in_order"].description == (
        f"lists in order: creators[{n}] sorts before creators[{n - 1}]"
    )
    assert results["parts_add_up"].passed
    entries[3]["minutesViewed"] += 1  # today's trend entry no longer matches the day
    r = checks.parts_add_up(type(large["creators"]).model_validate(data))
    assert r == checks.parts_add_up(data)
    assert r.description == (
        f"parts add up: creators {entries[3]['creator']!r}: trend for 2025-03-16 differs "
        "from the day"
    )
