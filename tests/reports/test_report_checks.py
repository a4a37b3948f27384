"""Consistency checks pass on documents built by the rules and fail on broken ones."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from stream_stats_dagster.facts import (
    CountryMinutes,
    CreatorMinutes,
    HourMinutes,
    VideoMetadata,
    VideoMinutes,
)
from stream_stats_dagster.reports import checks
from stream_stats_dagster.reports.daily import (
    daily_countries,
    daily_creators,
    daily_summary,
    videos_with_posts,
)
from stream_stats_dagster.reports.windows import (
    rolling_countries,
    rolling_creators,
    rolling_summary,
    weekly_creators,
    weekly_summary,
)

D = dt.date
END = D(2025, 3, 16)  # a Sunday: the rolling window is also the ISO week 03-10..03-16
DAYS = [D(2025, 3, 10) + dt.timedelta(days=i) for i in range(7)]
START = D(2025, 3, 12)  # 03-10 and 03-11 have no data and are zero-filled


def day_facts(day):
    """A coherent day: creators, countries and hours all add up to 10n minutes, 4n views."""
    n = day.day % 4 + 1
    creators = [
        CreatorMinutes(creator=c, minutesViewed=5 * n, viewCount=2 * n) for c in ("", "RYAN")
    ]
    countries = [
        CountryMinutes(clientCountryName="KR", minutesViewed=8 * n, viewCount=3 * n),
        CountryMinutes(clientCountryName="", minutesViewed=2 * n, viewCount=n),
    ]
    hours = [
        HourMinutes(
            hour=f"{day.isoformat()}T{h:02d}:00:00+09:00",
            minutesViewed=10 * n if h == 5 else 0,
            viewCount=4 * n if h == 5 else 0,
        )
        for h in range(24)
    ]
    videos = [
        VideoMinutes(uid=f"u{day.day}a", creator="RYAN", minutesViewed=4 * n, viewCount=2 * n),
        VideoMinutes(uid=f"u{day.day}b", creator="RYAN", minutesViewed=n, viewCount=1),
        VideoMinutes(uid="gone", creator="", minutesViewed=n, viewCount=1),
    ]
    return creators, countries, hours, videos


META = {
    "gone": VideoMetadata(uid="gone", found=False),
    **{
        f"u{d.day}{s}": VideoMetadata(uid=f"u{d.day}{s}", found=True, name=f"ep{s}1.mp4")
        for d in DAYS
        for s in "ab"
    },
}


@pytest.fixture(scope="module")
def built():
    facts = {d: day_facts(d) for d in DAYS if d >= START}
    creators = {
        d: daily_creators(d, {x: f[0] for x, f in facts.items()}, start_date=START) for d in facts
    }
    countries = {d: daily_countries(d, f[1]) for d, f in facts.items()}
    videos = {d: videos_with_posts(d, f[3], META) for d, f in facts.items()}
    summaries = {
        d: daily_summary(
            d,
            {x: f[2] for x, f in facts.items()},
            creators=f[0],
            countries=f[1],
            videos=f[3],
            start_date=START,
        )
        for d, f in facts.items()
    }
    r_creators = rolling_creators(END, creators, start_date=START)
    r_countries = rolling_countries(END, countries, start_date=START)
    w_creators = weekly_creators(DAYS[0], creators, start_date=START)
    return {
        "creators": creators[END],
        "countries": countries[END],
        "videos": videos[END],
        "summary": summaries[END],
        "rolling_creators": r_creators,
        "rolling_countries": r_countries,
        "rolling_summary": rolling_summary(
            END,
            summaries,
            videos,
            creators=r_creators,
            countries=r_countries,
            start_date=START,
        ),
        "weekly_creators": w_creators,
        "weekly_summary": weekly_summary(
            DAYS[0], summaries, videos, countries, creators=w_creators, start_date=START
        ),
    }


SINGLE = [
    checks.no_negative_values,
    checks.no_duplicate_keys,
    checks.series_complete,
    checks.lists_in_order,
    checks.parts_add_up,
]


@pytest.mark.parametrize("check", SINGLE, ids=lambda f: f.__name__)
def test_single_document_checks_pass_on_built_documents(built, check):
    for name, doc in built.items():
        result = check(doc)
        assert result.passed, (name, result)
        assert result.metadata["problems"] == 0
        # the same verdict on the JSON form
        assert check(doc.model_dump(mode="json")).passed


def test_result_shape(built):
    result = checks.no_negative_values(built["summary"])
    passed, description, metadata = result
    assert (passed, description) == (True, "no negative values")
    assert isinstance(metadata, dict)
    assert all(r.passed for r in checks.run_document_checks(built["videos"]))


def test_cross_document_checks_pass(built):
    r = checks.daily_parts_add_up(
        built["summary"], built["creators"], built["countries"], built["videos"]
    )
    assert r.passed, r
    assert r.metadata["totalMinutesViewed"] == r.metadata["creatorsMinutesViewed"]
    r = checks.window_parts_add_up(
        built["rolling_summary"], built["rolling_creators"], built["rolling_countries"]
    )
    assert r.passed, r
    assert checks.window_parts_add_up(built["weekly_summary"], built["weekly_creators"]).passed


def dumped(built, name):
    return copy.deepcopy(built[name].model_dump(mode="json"))


def test_negative_value_fails(built):
    doc = dumped(built, "creators")
    doc["creators"][0]["trend"][3]["viewCount"] = -1
    r = checks.no_negative_values(doc)
    assert not r.passed
    assert "creators[0].trend[3].viewCount = -1" in r.description
    assert r.metadata["problems"] == 1


def test_duplicate_keys_fail(built):
    doc = dumped(built, "countries")
    doc["countries"].append(dict(doc["countries"][0]))
    r = checks.no_duplicate_keys(doc)
    assert not r.passed and "repeats 'KR'" in r.description
    doc = dumped(built, "videos")
    doc["posts"].append(copy.deepcopy(doc["posts"][0]))
    assert "repeats ('RYAN', 'epa')" in checks.no_duplicate_keys(doc).description
    doc = dumped(built, "rolling_creators")
    doc["creators"][0]["dailyStats"][1]["date"] = doc["creators"][0]["dailyStats"][0]["date"]
    assert not checks.no_duplicate_keys(doc).passed


def test_incomplete_series_fail(built):
    doc = dumped(built, "creators")
    del doc["creators"][1]["trend"][2]
    r = checks.series_complete(doc)
    assert not r.passed and "creators[1].trend" in r.description
    doc = dumped(built, "summary")
    doc["dailyTrend"].reverse()
    assert not checks.series_complete(doc).passed
    doc = dumped(built, "summary")
    del doc["hourlyTrend"][7]
    r = checks.series_complete(doc)
    assert not r.passed and "jumps" in r.description
    doc = dumped(built, "weekly_summary")
    doc["weekStart"] = "2025-03-11"
    assert not checks.series_complete(doc).passed


def test_order_and_top_sizes_fail(built):
    doc = dumped(built, "countries")
    doc["countries"].reverse()
    assert not checks.lists_in_order(doc).passed
    doc = dumped(built, "summary")
    doc["topVideos"] = [{"uid": f"v{i:02d}", "minutesViewed": 1, "viewCount": 1} for i in range(11)]
    r = checks.lists_in_order(doc)
    assert not r.passed and "more than 10" in r.description
    doc = dumped(built, "videos")
    doc["posts"][0]["topVideos"] = [
        {"uid": f"v{i}", "fileName": None, "minutesViewed": 1, "viewCount": 1} for i in range(6)
    ]
    assert "more than 5" in checks.lists_in_order(doc).description


def test_parts_add_up_fails_inside_documents(built):
    doc = dumped(built, "summary")
    doc["totalMinutesViewed"] += 1
    r = checks.parts_add_up(doc)
    assert not r.passed and r.metadata["problems"] == 2  # hourly sum and dailyTrend
    doc = dumped(built, "creators")
    doc["creators"][0]["minutesViewed"] += 1
    assert "trend for 2025-03-16" in checks.parts_add_up(doc).description
    doc = dumped(built, "rolling_countries")
    doc["countries"][0]["totalViewCount"] += 1
    assert not checks.parts_add_up(doc).passed
    doc = dumped(built, "weekly_summary")
    doc["dailyStats"][0]["minutesViewed"] = 5
    assert not checks.parts_add_up(doc).passed
    doc = dumped(built, "videos")
    doc["posts"][0]["videoCount"] = 9
    assert "videoCount 9" in checks.parts_add_up(doc).description


def test_cross_document_checks_fail(built):
    creators = dumped(built, "creators")
    creators["creators"] = creators["creators"][1:]  # e.g. "__null__" dropped
    r = checks.daily_parts_add_up(built["summary"], creators, built["countries"])
    assert not r.passed and r.description.startswith("parts add up to totals: creators add up to")
    # a tolerance absorbs small differences
    r = checks.daily_parts_add_up(built["summary"], creators, built["countries"], tolerance=1000)
    assert r.passed
    other_day = dumped(built, "countries")
    other_day["date"] = "2025-03-15"
    assert (
        "different days"
        in checks.daily_parts_add_up(built["summary"], built["creators"], other_day).description
    )
    summary = dumped(built, "rolling_summary")
    summary["dailyStats"][-1]["viewCount"] += 1
    summary["totalViewCount"] += 1
    r = checks.window_parts_add_up(summary, built["rolling_creators"], built["rolling_countries"])
    assert not r.passed
    assert "creators on 2025-03-16" in " ".join(r.metadata["examples"])


# --- models, dicts and prepared documents give the same results --------------------------


def as_model(built, name, doc):
    """The (broken) dict `doc` as a model of the type of `built[name]` (values are not
    range-checked, so negative values and broken sums validate)."""
    return type(built[name]).model_validate(doc)


@pytest.mark.parametrize("check", SINGLE, ids=lambda f: f.__name__)
def test_same_result_on_model_dict_and_prepared(built, check):
    for name, doc in built.items():
        expected = check(doc.model_dump(mode="json"))
        assert check(doc) == expected, name
        assert check(checks.prepare(doc)) == expected, name
        assert check(checks.prepare(doc.model_dump(mode="json"))) == expected, name
    prepared = checks.prepare(built["summary"])
    assert checks.run_document_checks(prepared) == checks.run_document_checks(built["summary"])


@pytest.fixture
def no_entry_walk(monkeypatch):
    """Fail when a check cannot prove a list clean from its columns and would walk it, or
    some of its entries, one by one (the slow path, meant for documents with problems)."""
    fast = checks._fast

    def proven(find, level, *args):
        suspects = fast(find, level, *args)
        nothing = suspects == (False, []) or suspects in (set(), [])
        if level is not None and not nothing:
            raise AssertionError(f"{find.__name__} on {level.field!r}: {suspects!r}")
        return suspects

    monkeypatch.setattr(checks, "_fast", proven)


@pytest.mark.parametrize("check", SINGLE, ids=lambda f: f.__name__)
def test_clean_documents_are_proven_from_columns(built, check, no_entry_walk):
    for name, doc in built.items():
        assert check(doc).passed, name
        assert check(doc.model_dump(mode="json")).passed, name


def both_forms(built, name, doc):
    """The broken dict and the same document as a model."""
    return [doc, as_model(built, name, doc)]


def same_failure(check, built, name, doc) -> checks.CheckResult:
    """`check` fails the same way on the dict and on the model; the result."""
    on_dict, on_model = (check(d) for d in both_forms(built, name, doc))
    assert not on_dict.passed
    assert on_model == on_dict
    return on_dict


def test_failures_deep_inside_models_and_dicts(built):
    doc = dumped(built, "creators")
    doc["creators"][1]["trend"][5]["minutesViewed"] = -3
    r = same_failure(checks.no_negative_values, built, "creators", doc)
    assert r.description == "no negative values: creators[1].trend[5].minutesViewed = -3"

    doc = dumped(built, "rolling_creators")
    doc["creators"][0]["dailyStats"][6]["viewCount"] = -2
    doc["creators"][0]["totalViewCount"] = -5
    r = same_failure(checks.no_negative_values, built, "rolling_creators", doc)
    assert r.metadata["examples"] == [
        "creators[0].dailyStats[6].viewCount = -2",
        "creators[0].totalViewCount = -5",
    ]

    doc = dumped(built, "creators")
    doc["creators"].append(copy.deepcopy(doc["creators"][0]))
    r = same_failure(checks.no_duplicate_keys, built, "creators", doc)
    assert f"creators repeats {doc['creators'][0]['creator']!r}" in r.description
    assert r.metadata["lists_checked"] == 1 + len(doc["creators"])  # creators + each trend

    doc = dumped(built, "creators")
    doc["creators"][1]["trend"][4]["date"] = doc["creators"][1]["trend"][3]["date"]
    r = same_failure(checks.no_duplicate_keys, built, "creators", doc)
    assert "creators[1].trend repeats '2025-03-13'" in r.description
    r = same_failure(checks.series_complete, built, "creators", doc)
    assert r.description.startswith("series complete: creators[1].trend has dates")

    doc = dumped(built, "rolling_countries")
    del doc["countries"][0]["dailyStats"][0]
    r = same_failure(checks.series_complete, built, "rolling_countries", doc)
    assert "countries[0].dailyStats has dates" in r.description
    assert r.metadata["series_checked"] == len(doc["countries"])

    doc = dumped(built, "rolling_creators")
    doc["creators"].reverse()
    r = same_failure(checks.lists_in_order, built, "rolling_creators", doc)
    assert r.description == "lists in order: creators[1] sorts before creators[0]"

    doc = dumped(built, "videos")
    doc["posts"][0]["minutesViewed"] += 1
    r = same_failure(checks.parts_add_up, built, "videos", doc)
    assert r.description.startswith("parts add up: post ('RYAN', 'epa') sums differ")

    doc = dumped(built, "creators")
    doc["creators"][1]["trend"][-1]["viewCount"] += 1
    r = same_failure(checks.parts_add_up, built, "creators", doc)
    assert "creators '__null__': trend for 2025-03-16 differs from the day" in r.description

    doc = dumped(built, "rolling_creators")
    doc["creators"][1]["dailyStats"][3]["minutesViewed"] += 1
    r = same_failure(checks.parts_add_up, built, "rolling_creators", doc)
    assert "dailyStats do not add up to the totals" in r.description


def test_odd_shapes_are_checked_entry_by_entry(built):
    """Dict documents whose lists the columns cannot express (entries with different
    keys, a value of another type) are still checked, entry by entry."""
    doc = dumped(built, "countries")
    doc["countries"][1]["note"] = -4  # an extra key in one entry only
    r = checks.no_negative_values(doc)
    assert r.description == "no negative values: countries[1].note = -4"
    doc = dumped(built, "creators")
    doc["creators"][0]["minutesViewed"] = "12"  # a string is not an int: not negative
    doc["creators"][1]["trend"][0]["viewCount"] = -1.5  # nor is a float
    assert checks.no_negative_values(doc).passed
    doc = dumped(built, "creators")
    doc["creators"][1]["trend"] = None
    r = checks.series_complete(doc)
    assert r.passed and r.metadata["series_checked"] == len(doc["creators"]) - 1
    doc = dumped(built, "rolling_countries")
    doc["countries"][0]["clientCountryName"] = doc["countries"][1]["clientCountryName"]
    doc["countries"][0]["extra"] = {"dailyStats": []}  # a nested dict holding a series
    r = checks.series_complete(doc)
    assert "countries[0].extra.dailyStats has dates []" in r.description
    assert "repeats" in checks.no_duplicate_keys(doc).description
