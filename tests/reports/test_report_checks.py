"""The consistency checks pass on documents built by the reports, and fail on documents
whose frames were corrupted, each naming the offending keys (issue 11: one Dagster check
per (asset, rule), each with a failing case).

The documents come from `tests.reports.docs`: one coherent week of hand-made facts. Every
test corrupts a deep copy (`fresh`), never the shared documents.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from stream_stats_dagster.defs.checks import (
    ADDS_UP,
    CHECKS,
    CROSS_CHECKS,
    ONE_KEY_PER_CREATOR,
    SINGLE_DOCUMENT_CHECKS,
    evaluate,
)
from stream_stats_dagster.defs.publishing import DayReport
from stream_stats_dagster.reports import checks
from stream_stats_dagster.reports.tables import PARENT, Document, Table
from tests.reports.docs import BUILT, fresh

DAILY_DOCS = ("summary", "creators", "countries", "videos_with_posts")


# --- helpers ---------------------------------------------------------------------------


def set_frame(doc: Document, field: str, frame: pd.DataFrame) -> None:
    """Replace the frame of a top-level list, keeping its children and field order."""
    table = doc[field]
    doc.fields[field] = Table(frame.reset_index(drop=True), table.children, table.order)


def set_child(doc: Document, field: str, child: str, frame: pd.DataFrame) -> None:
    doc[field].children[child] = Table(frame.reset_index(drop=True))


def child(doc: Document, field: str, name: str) -> pd.DataFrame:
    return doc[field].children[name].frame


def rows_of(doc: Document, field: str, name: str, key: str, value: str) -> pd.DataFrame:
    """The child rows of the entry of `field` whose `key` is `value`."""
    position = doc[field].frame.index[doc[field].frame[key] == value][0]
    frame = child(doc, field, name)
    return frame[frame[PARENT] == position]


def swap_rows(frame: pd.DataFrame, a: int, b: int) -> None:
    frame.iloc[[a, b]] = frame.iloc[[b, a]].to_numpy()


def failed(result: checks.CheckResult, *fragments: str) -> checks.CheckResult:
    """`result` failed, and its description holds every fragment (the offending keys)."""
    assert result.passed is False, result
    for fragment in fragments:
        assert fragment in result.description, (fragment, result.description)
    assert result.metadata["problems"] >= 1
    assert result.metadata["first problems"]
    return result


def cross_check(asset: str, docs: dict[str, Document]) -> checks.CheckResult:
    """The check across documents of a summary asset, or of the creators' keys, as its
    Dagster step runs it (the keys' of the document's creators, shared if corrupted)."""
    if asset in ("creator_days", "creator_weeks"):
        table = docs[asset]["videos" if asset == "creator_days" else "creators"].frame
        return checks.one_key_per_creator(sorted(set(table["creator"])), docs.key_of)
    if asset == "summary":
        return checks.daily_parts_add_up(*(docs[n] for n in DAILY_DOCS))
    if asset == "rolling_summary":
        return checks.window_parts_add_up(
            docs["rolling_summary"], docs["rolling_creators"], docs["rolling_countries"]
        )
    assert asset == "weekly_summary"
    return checks.window_parts_add_up(docs["weekly_summary"], docs["weekly_creators"])


# --- clean documents pass --------------------------------------------------------------


@pytest.mark.parametrize("name", list(SINGLE_DOCUMENT_CHECKS))
def test_single_document_checks_pass_on_built_documents(name):
    check = SINGLE_DOCUMENT_CHECKS[name]
    for asset, doc in BUILT.items():
        result = check(doc)
        assert result.passed is True, (asset, result)
        assert result.description == f"{name.replace('_', ' ')}: ok"
        assert "problems" not in result.metadata


@pytest.mark.parametrize("asset", ["summary", "rolling_summary", "weekly_summary"])
def test_cross_document_checks_pass_on_built_documents(asset):
    result = cross_check(asset, BUILT)
    assert result.passed is True, result
    assert result.description == "parts add up to totals: ok"
    assert result.metadata["totalMinutesViewed"] == result.metadata["creatorsMinutesViewed"]


def test_daily_parts_add_up_without_videos_and_with_null_groups():
    """__null__ creators and countries count towards the totals (never dropped)."""
    result = checks.daily_parts_add_up(BUILT["summary"], BUILT["creators"], BUILT["countries"])
    assert result.passed is True
    assert "videosMinutesViewed" not in result.metadata
    creators = BUILT["creators"]["creators"].frame
    assert "__null__" in set(creators["creator"])
    assert result.metadata["creatorsMinutesViewed"] == int(creators["minutesViewed"].sum())


def test_series_checked_counts_every_series():
    assert checks.series_complete(BUILT["creators"]).metadata["series_checked"] == 3
    assert checks.series_complete(BUILT["rolling_countries"]).metadata["series_checked"] == 2
    # dailyTrend and hourlyTrend
    assert checks.series_complete(BUILT["summary"]).metadata["series_checked"] == 2


# --- one failing case per (asset, rule) --------------------------------------------------
# Each case corrupts fresh copies of the documents (by asset name) and names the fragment
# the description must hold: the offending key (a creator, a country, a uid, a post, a date,
# an hour) or, for a sum over a whole list, the list and the day.

Corrupt = Callable[[dict[str, Document]], None]


def _negative(asset: str, field: str, row: int, column: str) -> Corrupt:
    def corrupt(docs):
        docs[asset][field].frame.loc[row, column] = -1

    return corrupt


def _repeat_key(asset: str, field: str, keys: list[str], row: int = 1) -> Corrupt:
    """Give row `row` the key of row 0."""

    def corrupt(docs):
        frame = docs[asset][field].frame
        frame.loc[row, keys] = frame.loc[0, keys].to_numpy()

    return corrupt


def _swap(asset: str, field: str, a: int = 0, b: int = 1) -> Corrupt:
    def corrupt(docs):
        swap_rows(docs[asset][field].frame, a, b)

    return corrupt


def _drop_series_day(asset: str, field: str, name: str, key: str, value: str, day: str):
    def corrupt(docs):
        doc = docs[asset]
        frame = child(doc, field, name)
        parents = doc[field].frame[key]
        position = parents.index[parents == value][0]
        keep = ~((frame[PARENT] == position) & (frame["date"] == day))
        set_child(doc, field, name, frame[keep])

    return corrupt


def _add(asset: str, field: str | None, row: int | None, column: str, amount: int = 1):
    def corrupt(docs):
        doc = docs[asset]
        if field is None:
            doc.fields[column] += amount
        else:
            doc[field].frame.loc[row, column] += amount

    return corrupt


def _add_child(asset: str, field: str, name: str, row: int, column: str, amount: int = 1):
    def corrupt(docs):
        child(docs[asset], field, name).loc[row, column] += amount

    return corrupt


def _drop_null_creator(docs):
    frame = docs["creators"]["creators"].frame
    set_frame(docs["creators"], "creators", frame[frame["creator"] != "__null__"])


def _move_a_day_of_views(docs):
    """'RYAN' gets a minute of 03-13 on 03-14: totals still match, the days do not."""
    stats = child(docs["rolling_creators"], "creators", "dailyStats")
    ryan = rows_of(docs["rolling_creators"], "creators", "dailyStats", "creator", "RYAN")
    row_13 = ryan.index[ryan["date"] == "2025-03-13"][0]
    row_14 = ryan.index[ryan["date"] == "2025-03-14"][0]
    stats.loc[row_13, "minutesViewed"] -= 1
    stats.loc[row_14, "minutesViewed"] += 1


def _eleven_top_videos(docs):
    frame = pd.DataFrame(
        {"uid": [f"v{i:02d}" for i in range(11)], "minutesViewed": 1, "viewCount": 1}
    )
    set_frame(docs["summary"], "topVideos", frame)


def _reverse(asset: str, field: str):
    def corrupt(docs):
        set_frame(docs[asset], field, docs[asset][field].frame.iloc[::-1])

    return corrupt


def _drop_hour(docs):
    set_frame(docs["summary"], "hourlyTrend", docs["summary"]["hourlyTrend"].frame.drop(index=7))


def _week_start(docs):
    docs["weekly_summary"].fields["weekStart"] = "2025-03-11"


NEG, DUP, SERIES, ORDER, PARTS = (
    "no_negative_values",
    "no_duplicate_keys",
    "series_complete",
    "lists_in_order",
    "parts_add_up",
)


def _one_key(docs) -> None:
    """Two creators whose keys collide."""
    docs.key_of = lambda creator: "k" if creator in ("RYAN", "test") else creator


CASES: dict[tuple[str, str], tuple[Corrupt, str]] = {
    # daily creators
    ("creators", NEG): (_negative("creators", "creators", 0, "minutesViewed"), "creators 'RYAN'"),
    ("creators", DUP): (_repeat_key("creators", "creators", ["creator"]), "'RYAN' repeated"),
    ("creators", SERIES): (
        _drop_series_day("creators", "creators", "trend", "creator", "__null__", "2025-03-12"),
        "creators[].trend of '__null__' has dates",
    ),
    ("creators", ORDER): (_swap("creators", "creators"), "creators out of order at 'RYAN'"),
    # daily countries
    ("countries", NEG): (_negative("countries", "countries", 1, "viewCount"), "'__null__'"),
    ("countries", DUP): (
        _repeat_key("countries", "countries", ["clientCountryName"]),
        "countries: 'KR' repeated",
    ),
    ("countries", ORDER): (_reverse("countries", "countries"), "out of order at 'KR'"),
    # videos with posts
    ("videos_with_posts", NEG): (
        _negative("videos_with_posts", "videos", 0, "minutesViewed"),
        "videos 'u16a': minutesViewed < 0",
    ),
    ("videos_with_posts", DUP): (
        _repeat_key("videos_with_posts", "posts", ["creator", "postName"]),
        "posts: ('RYAN', 'ep') repeated",
    ),
    ("videos_with_posts", ORDER): (
        _swap("videos_with_posts", "posts", 1, 2),
        "posts out of order at ('__null__', '__null__')",
    ),
    ("videos_with_posts", PARTS): (
        _add("videos_with_posts", "posts", 0, "videoCount", 7),
        "post ('RYAN', 'ep') has videoCount 9, 2 videos",
    ),
    # each creator's files: the day's videos of every creator, and the keys
    ("creator_days", NEG): (
        _negative("creator_days", "videos", 0, "minutesViewed"),
        "videos 'u16a': minutesViewed < 0",
    ),
    ("creator_days", DUP): (
        _repeat_key("creator_days", "posts", ["creator", "postName"]),
        "posts: ('RYAN', 'ep') repeated",
    ),
    ("creator_days", ORDER): (
        _swap("creator_days", "posts", 1, 2),
        "posts out of order at ('__null__', '__null__')",
    ),
    ("creator_days", PARTS): (
        _add("creator_days", "posts", 0, "videoCount", 7),
        "post ('RYAN', 'ep') has videoCount 9, 2 videos",
    ),
    ("creator_days", ONE_KEY_PER_CREATOR): (_one_key, "shared by ['RYAN', 'test']"),
    ("creator_weeks", ONE_KEY_PER_CREATOR): (_one_key, "shared by ['RYAN', 'test']"),
    # daily summary
    ("summary", NEG): (_negative("summary", "topCountries", 0, "viewCount"), "topCountries 'KR'"),
    ("summary", DUP): (
        _repeat_key("summary", "hourlyTrend", ["hour"]),
        "hourlyTrend: '2025-03-16T00:00:00+09:00' repeated",
    ),
    ("summary", SERIES): (
        _drop_hour,
        "hourlyTrend jumps from 2025-03-16T06:00:00+09:00 to 2025-03-16T08:00:00+09:00",
    ),
    ("summary", ORDER): (_eleven_top_videos, "topVideos has 11 entries, more than 10"),
    ("summary", PARTS): (
        _add("summary", "hourlyTrend", 3, "minutesViewed"),
        "hourlyTrend does not add up to the totals",
    ),
    ("summary", ADDS_UP): (
        _drop_null_creator,
        "creators add up to 7 minutes / 3 views, the total is 10 / 4",
    ),
    # rolling creators
    ("rolling_creators", NEG): (
        _negative("rolling_creators", "creators", 2, "totalMinutesViewed"),
        "creators 'test': totalMinutesViewed < 0",
    ),
    ("rolling_creators", DUP): (
        _repeat_key("rolling_creators", "creators", ["creator"], row=2),
        "creators: 'RYAN' repeated",
    ),
    ("rolling_creators", SERIES): (
        _drop_series_day(
            "rolling_creators", "creators", "dailyStats", "creator", "test", "2025-03-16"
        ),
        "creators[].dailyStats of 'test' has dates",
    ),
    ("rolling_creators", ORDER): (
        _swap("rolling_creators", "creators", 1, 2),
        "creators out of order at '__null__'",  # the entry that should come first
    ),
    ("rolling_creators", PARTS): (
        _add_child("rolling_creators", "creators", "dailyStats", 10, "minutesViewed"),
        "creators '__null__': dailyStats do not add up to the totals",
    ),
    # rolling countries
    ("rolling_countries", NEG): (
        _add_child("rolling_countries", "countries", "dailyStats", 9, "viewCount", -99),
        "countries[].dailyStats '__null__' '2025-03-12': viewCount < 0",
    ),
    ("rolling_countries", DUP): (
        _repeat_key("rolling_countries", "countries", ["clientCountryName"]),
        "countries: 'KR' repeated",
    ),
    ("rolling_countries", SERIES): (
        _drop_series_day(
            "rolling_countries", "countries", "dailyStats", "clientCountryName", "KR", "2025-03-10"
        ),
        "countries[].dailyStats of 'KR' has dates ['2025-03-11',",
    ),
    ("rolling_countries", ORDER): (
        _reverse("rolling_countries", "countries"),
        "countries out of order at 'KR'",
    ),
    ("rolling_countries", PARTS): (
        _add("rolling_countries", "countries", 0, "totalViewCount"),
        "countries 'KR': dailyStats do not add up to the totals",
    ),
    # weekly creators
    ("weekly_creators", NEG): (
        _negative("weekly_creators", "creators", 1, "totalViewCount"),
        "creators '__null__': totalViewCount < 0",
    ),
    ("weekly_creators", DUP): (
        _repeat_key("weekly_creators", "creators", ["creator"]),
        "creators: 'RYAN' repeated",
    ),
    ("weekly_creators", SERIES): (
        lambda docs: swap_rows(child(docs["weekly_creators"], "creators", "dailyStats"), 2, 3),
        "creators[].dailyStats of 'RYAN' has dates ['2025-03-10', '2025-03-11', '2025-03-13',",
    ),
    ("weekly_creators", ORDER): (
        _swap("weekly_creators", "creators"),
        "creators out of order at 'RYAN'",
    ),
    ("weekly_creators", PARTS): (
        _add("weekly_creators", "creators", 2, "totalMinutesViewed"),
        "creators 'test': dailyStats do not add up to the totals",
    ),
    # rolling summary
    ("rolling_summary", NEG): (
        _negative("rolling_summary", "topVideos", 0, "minutesViewed"),
        "topVideos 'u15a': minutesViewed < 0",
    ),
    ("rolling_summary", DUP): (
        _repeat_key("rolling_summary", "topVideos", ["uid"], row=4),
        "topVideos: 'u15a' repeated",
    ),
    ("rolling_summary", SERIES): (
        _reverse("rolling_summary", "dailyStats"),
        "dailyStats has dates ['2025-03-16', '2025-03-15',",
    ),
    ("rolling_summary", ORDER): (
        _swap("rolling_summary", "topCountries"),
        "topCountries out of order at 'KR'",
    ),
    ("rolling_summary", PARTS): (
        _add("rolling_summary", "dailyStats", 0, "minutesViewed", 5),
        "dailyStats do not add up to the totals",
    ),
    ("rolling_summary", ADDS_UP): (
        _move_a_day_of_views,
        "creators on 2025-03-13 add up to 19 minutes / 8 views, the total is 20 / 8",
    ),
    # weekly summary
    ("weekly_summary", NEG): (
        _add("weekly_summary", None, None, "totalViewCount", -1000),
        "totalViewCount is -956",
    ),
    ("weekly_summary", DUP): (
        _repeat_key("weekly_summary", "topVideos", ["uid"], row=3),
        "topVideos: 'u15a' repeated",
    ),
    ("weekly_summary", SERIES): (_week_start, "weekStart 2025-03-11 is not 2025-03-10"),
    ("weekly_summary", ORDER): (
        _swap("weekly_summary", "topCreators", 1, 2),
        "topCreators out of order at '__null__'",
    ),
    ("weekly_summary", PARTS): (
        _add("weekly_summary", None, None, "totalViewCount"),
        "dailyStats do not add up to the totals",
    ),
    ("weekly_summary", ADDS_UP): (
        _add("weekly_creators", "creators", 0, "totalMinutesViewed"),
        "creators add up to 111 minutes / 44 views, the total is 110 / 44",
    ),
}

PAIRS = [(asset, name) for asset, names in CHECKS.items() for name in names]


class Copies(dict):
    """Fresh copies of the built documents, each made when first asked for (and the
    creator key function of the case)."""

    key_of = staticmethod(lambda creator: creator)

    def __missing__(self, name: str) -> Document:
        self[name] = fresh(name)
        return self[name]


def run_case(asset: str, name: str) -> tuple[dict[str, Document], checks.CheckResult]:
    corrupt, _ = CASES[asset, name]
    docs = Copies()
    corrupt(docs)
    if name in CROSS_CHECKS:
        return docs, cross_check(asset, docs)
    return docs, SINGLE_DOCUMENT_CHECKS[name](docs[asset])


@pytest.mark.parametrize(("asset", "name"), list(CASES))
def test_failing_case_names_the_offending_key(asset, name):
    _, result = run_case(asset, name)
    failed(result, CASES[asset, name][1])


@pytest.mark.parametrize(("asset", "name"), PAIRS)
def test_every_dagster_check_has_a_failing_case(asset, name):
    """Each (asset, check) of `defs.checks.CHECKS` fails through what the step evaluates
    before it publishes: the day's every check, and the failing one keeps its day out."""
    assert (asset, name) in CASES
    docs, _ = run_case(asset, name)
    crossing = set(CROSS_CHECKS) & set(CHECKS[asset])
    cross = cross_check(asset, docs) if crossing else None
    results = evaluate(asset, docs[asset], cross)
    assert sorted(results) == sorted(CHECKS[asset])
    assert results[name].passed is False
    assert CASES[asset, name][1] in results[name].description
    day = DayReport(docs={asset: docs[asset]}, checks={asset: results})
    assert any(f.startswith(f"{asset} {name}: ") for f in day.failures)


def test_every_case_is_a_dagster_check():
    assert set(CASES) == set(PAIRS)


def test_clean_partitions_pass_through_the_dagster_wrapper():
    results = evaluate("summary", BUILT["summary"], cross_check("summary", BUILT))
    assert list(results) == CHECKS["summary"] and all(r.passed for r in results.values())
    assert DayReport(docs={"summary": BUILT["summary"]}, checks={"summary": results}).failures == []


# --- more failing cases per check ------------------------------------------------------


def test_no_negative_values_deep_in_a_series_and_in_a_post():
    doc = fresh("creators")
    trend = child(doc, "creators", "trend")
    row = rows_of(doc, "creators", "trend", "creator", "__null__").index[3]
    trend.loc[row, "viewCount"] = -3
    failed(
        checks.no_negative_values(doc),
        "creators[].trend '__null__' '2025-03-13': viewCount < 0",
    )
    doc = fresh("videos_with_posts")
    child(doc, "posts", "topVideos").loc[1, "viewCount"] = -3
    failed(checks.no_negative_values(doc), "posts[].topVideos ('RYAN', 'ep') 'u16b': viewCount < 0")
    doc = fresh("summary")
    doc.fields["totalMinutesViewed"] = -1
    failed(checks.no_negative_values(doc), "totalMinutesViewed is -1")


def test_no_negative_values_lists_every_problem():
    doc = fresh("rolling_creators")
    doc["creators"].frame[["totalMinutesViewed", "totalViewCount"]] = -1
    result = failed(checks.no_negative_values(doc), "creators 'RYAN'", "(+3 more)")
    assert result.metadata["problems"] == 6
    assert result.metadata["first problems"] == [
        f"creators {key!r}: {column} < 0"
        for column in ("totalMinutesViewed", "totalViewCount")
        for key in ("RYAN", "__null__", "test")
    ]


def test_no_duplicate_keys_in_rows_and_series():
    doc = fresh("countries")
    frame = doc["countries"].frame
    set_frame(doc, "countries", pd.concat([frame, frame.iloc[[0]]]))  # a duplicated row
    failed(checks.no_duplicate_keys(doc), "countries: 'KR' repeated")
    doc = fresh("videos_with_posts")
    doc["videos"].frame.loc[2, "uid"] = "u16a"
    failed(checks.no_duplicate_keys(doc), "videos: 'u16a' repeated")
    doc = fresh("rolling_creators")
    stats = child(doc, "creators", "dailyStats")
    stats.loc[1, "date"] = stats.loc[0, "date"]
    failed(checks.no_duplicate_keys(doc), "creators[].dailyStats: 'RYAN' '2025-03-10' repeated")
    doc = fresh("summary")
    doc["topCreators"].frame.loc[1, "creator"] = "RYAN"
    failed(checks.no_duplicate_keys(doc), "topCreators: 'RYAN' repeated")


def test_a_repeated_date_in_a_summary_series_is_a_duplicate():
    doc = fresh("rolling_summary")
    doc["dailyStats"].frame.loc[6, "date"] = "2025-03-10"
    failed(checks.no_duplicate_keys(doc), "dailyStats: '2025-03-10' repeated")


def test_window_parts_add_up_fails_on_a_repeated_summary_date():
    doc = fresh("rolling_summary")
    doc["dailyStats"].frame.loc[6, "date"] = "2025-03-10"
    result = checks.window_parts_add_up(doc, BUILT["rolling_creators"], BUILT["rolling_countries"])
    failed(result, "creators on 2025-03-10")


def test_the_same_date_in_two_entries_series_is_no_duplicate():
    """Keys of a child table are unique per entry, not across entries."""
    assert checks.no_duplicate_keys(BUILT["creators"]).passed
    assert child(BUILT["creators"], "creators", "trend")["date"].duplicated().any()


def test_series_complete_fails_on_wrong_dates():
    doc = fresh("creators")
    trend = child(doc, "creators", "trend")
    rows = rows_of(doc, "creators", "trend", "creator", "test").index
    swap_rows(trend, rows[1], rows[2])
    failed(checks.series_complete(doc), "creators[].trend of 'test' has dates")
    doc = fresh("summary")
    set_frame(doc, "dailyTrend", doc["dailyTrend"].frame.drop(index=2))
    failed(
        checks.series_complete(doc),
        "dailyTrend has dates ['2025-03-10', '2025-03-11', '2025-03-13'",
    )
    doc = fresh("rolling_countries")
    doc.fields["startDate"] = "2025-03-09"
    failed(checks.series_complete(doc), "startDate 2025-03-09 is not 2025-03-10")


def test_series_complete_fails_on_broken_hours():
    doc = fresh("summary")
    set_frame(doc, "hourlyTrend", doc["hourlyTrend"].frame.iloc[1:])
    failed(checks.series_complete(doc), "hourlyTrend starts at 2025-03-16T01:00:00+09:00")
    doc = fresh("summary")
    doc["hourlyTrend"].frame.loc[23, "hour"] = "2025-03-17T00:00:00+09:00"
    failed(checks.series_complete(doc), "hourlyTrend has hours outside 2025-03-16")
    doc = fresh("summary")
    doc["hourlyTrend"].frame.loc[0, "hour"] = "2025-03-16T00:00:00"
    failed(checks.series_complete(doc), "hourlyTrend has an hour without UTC offset")
    doc = fresh("summary")
    set_frame(doc, "hourlyTrend", doc["hourlyTrend"].frame.iloc[:0])
    failed(checks.series_complete(doc), "hourlyTrend is empty")


@pytest.mark.parametrize("entry", ["RYAN", "__null__", "test"])
def test_series_complete_names_an_entry_without_any_series_day(entry):
    doc = fresh("creators")
    trend = child(doc, "creators", "trend")
    gone = rows_of(doc, "creators", "trend", "creator", entry).index
    set_child(doc, "creators", "trend", trend.drop(index=gone))
    failed(checks.series_complete(doc), f"creators[].trend of {entry!r} has dates []")


def test_lists_in_order_fails_on_swapped_rows():
    doc = fresh("creators")
    swap_rows(doc["creators"].frame, 1, 2)  # __null__ (3 minutes) after test (2 minutes)
    failed(checks.lists_in_order(doc), "creators out of order at '__null__'")
    doc = fresh("videos_with_posts")
    swap_rows(child(doc, "posts", "topVideos"), 0, 1)
    failed(checks.lists_in_order(doc), "posts[].topVideos out of order at ('RYAN', 'ep') 'u16a'")
    doc = fresh("videos_with_posts")
    swap_rows(doc["videos"].frame, 1, 2)  # same minutes and views: uid order decides
    failed(checks.lists_in_order(doc), "videos out of order at 'gone'")


def test_lists_in_order_fails_on_a_post_with_more_than_five_top_videos():
    doc = fresh("videos_with_posts")
    top = child(doc, "posts", "topVideos")
    extra = pd.DataFrame(
        {
            PARENT: 0,
            "uid": [f"x{i}" for i in range(5)],
            "fileName": None,
            "minutesViewed": 0,
            "viewCount": 0,
        }
    )
    set_child(doc, "posts", "topVideos", pd.concat([top.iloc[:2], extra, top.iloc[2:]]))
    failed(
        checks.lists_in_order(doc), "posts[].topVideos of ('RYAN', 'ep') has 7 entries, more than 5"
    )


def test_parts_add_up_inside_documents():
    doc = fresh("summary")
    doc.fields["totalMinutesViewed"] += 1
    result = failed(
        checks.parts_add_up(doc),
        "hourlyTrend does not add up to the totals",
        "dailyTrend for 2025-03-16 differs from the totals",
    )
    assert result.metadata["problems"] == 2
    doc = fresh("summary")
    doc["dailyTrend"].frame.loc[6, "viewCount"] += 1
    failed(checks.parts_add_up(doc), "dailyTrend for 2025-03-16 differs from the totals")
    doc = fresh("creators")
    doc["creators"].frame.loc[0, "minutesViewed"] += 1
    failed(checks.parts_add_up(doc), "creators 'RYAN': trend for 2025-03-16 differs from the day")
    doc = fresh("creators")
    last = rows_of(doc, "creators", "trend", "creator", "test").index[-1]
    child(doc, "creators", "trend").loc[last, "viewCount"] += 1
    failed(checks.parts_add_up(doc), "creators 'test': trend for 2025-03-16 differs from the day")


def test_parts_add_up_posts_and_videos():
    doc = fresh("videos_with_posts")
    doc["posts"].frame.loc[0, "minutesViewed"] += 1
    failed(
        checks.parts_add_up(doc),
        "post ('RYAN', 'ep') sums differ from its videos",
        "posts do not add up to the videos",
    )
    doc = fresh("videos_with_posts")
    doc["videos"].frame.loc[3, "postName"] = "nope"  # a video moved to a post with no entry
    failed(
        checks.parts_add_up(doc),
        "post ('test', 'lady') has videoCount 1, 0 videos",
        "videos of post ('test', 'nope') have no post entry",
    )
    doc = fresh("videos_with_posts")
    child(doc, "posts", "topVideos").loc[3, "uid"] = "zzz"
    failed(checks.parts_add_up(doc), "a post's topVideos has unknown uid zzz")


def test_daily_parts_add_up_fails_across_documents():
    summary, creators, countries, videos = (BUILT[n] for n in DAILY_DOCS)
    doc = fresh("countries")
    doc["countries"].frame.loc[0, "viewCount"] += 1
    failed(
        checks.daily_parts_add_up(summary, creators, doc, videos),
        "countries add up to 10 minutes / 5 views, the total is 10 / 4",
    )
    doc = fresh("countries")
    doc.fields["date"] = "2025-03-15"
    failed(
        checks.daily_parts_add_up(summary, creators, doc, videos),
        "documents of different days: ['2025-03-15', '2025-03-16']",
    )
    doc = fresh("videos_with_posts")
    doc["videos"].frame.loc[0, "minutesViewed"] += 100
    result = failed(
        checks.daily_parts_add_up(summary, creators, countries, doc),
        "top videos add up to (107, 4), more than the total (10, 4)",
    )
    assert result.metadata["videosMinutesViewed"] == 107


def test_window_parts_add_up_fails_across_documents():
    summary, creators, countries = (
        BUILT[n] for n in ("rolling_summary", "rolling_creators", "rolling_countries")
    )
    doc = fresh("rolling_summary")
    doc["dailyStats"].frame.loc[6, "viewCount"] += 1
    doc.fields["totalViewCount"] += 1
    result = failed(
        checks.window_parts_add_up(doc, creators, countries),
        "creators add up to 110 minutes / 44 views, the total is 110 / 45",
        "creators on 2025-03-16 add up to 10 minutes / 4 views, the total is 10 / 5",
    )
    assert result.metadata["problems"] == 4  # creators and countries, in total and on the day
    doc = fresh("rolling_countries")
    doc["countries"].frame.loc[1, "totalMinutesViewed"] += 1
    failed(
        checks.window_parts_add_up(summary, creators, doc),
        "countries add up to 111 minutes / 44 views",
    )
    doc = fresh("rolling_creators")
    doc.fields["endDate"] = "2025-03-15"
    failed(
        checks.window_parts_add_up(summary, doc, countries),
        "creators ends 2025-03-15, the summary 2025-03-16",
    )


def test_cases_corrupt_copies_only():
    before = BUILT["rolling_creators"].to_json()
    docs, result = run_case("rolling_creators", "parts_add_up")
    assert not result.passed
    assert docs["rolling_creators"].to_json() != before
    assert BUILT["rolling_creators"].to_json() == before
