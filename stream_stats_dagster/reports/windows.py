"""Seven-day documents: rolling (d-6..d) and weekly (Monday..Sunday), from daily documents.

Creator and country windows accept either the daily documents or the raw extracts of the
seven days (the assets pass the raw extracts: same rows, no trends to load).

A window is the exact sum of its seven daily documents. The caller passes mappings
`{date: doc or None}` holding the daily partitions it found; a day absent or None is
zero-filled when it lies before the start date and raises `MissingDaysError` otherwise
(all missing days of all inputs named in one line).

`topVideos` of a window merges the seven days' FULL top-N video lists (the `videos` of
each day's videos-with-posts document, summed per uid), not the days' top-10 lists, so a
video that was 11th every day still counts with its whole week.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

from stream_stats_dagster.dates import window_days
from stream_stats_dagster.reports.models import (
    CountriesDoc,
    CreatorsDoc,
    RawCountryMinutes,
    RawCreatorMinutes,
    RollingCountriesDoc,
    RollingCreatorsDoc,
    RollingSummaryDoc,
    SummaryDoc,
    VideosWithPostsDoc,
    WeeklyCreatorsDoc,
    WeeklySummaryDoc,
)
from stream_stats_dagster.reports.rules import (
    MissingDaysError,
    Totals,
    bulk_build,
    key_series,
    merge_rows,
    null_key,
    rank_key,
    resolve_window,
    series,
    top_n,
    top_totals,
)

__all__ = [
    "MissingDaysError",
    "rolling_countries",
    "rolling_creators",
    "rolling_summary",
    "weekly_creators",
    "weekly_summary",
]

TOP_LIST_SIZE = 10

_by_uid = attrgetter("uid")


def _by_creator(row: Any) -> str:
    return null_key(row.creator)


def _by_country(row: Any) -> str:
    return null_key(row.clientCountryName)


def _day_rows(doc: Any, field: str) -> Sequence[Any]:
    """A day's entries: a daily document's list (`creators`/`countries`), or the `rows` of
    the raw extract (smaller and cheaper to load: windows need no trends)."""
    return getattr(doc, field) if hasattr(doc, field) else doc.rows


def _week_days(monday: dt.date) -> list[dt.date]:
    if monday.weekday() != 0:
        raise ValueError(f"week start {monday.isoformat()} is not a Monday")
    return window_days(monday + dt.timedelta(days=6))


def _resolve(
    days: Sequence[dt.date],
    docs: Mapping[dt.date, Any],
    start_date: dt.date,
    *others: Mapping[dt.date, Any],
) -> list[Any]:
    """The docs of each day (None = zero-filled), after checking every input mapping."""
    found = resolve_window(days, docs, start_date=start_date, sources=others)
    for mapping in (docs, *others):
        for day in days:
            doc = mapping.get(day)
            if doc is not None and doc.date != day.isoformat():
                raise ValueError(
                    f"{type(doc).__name__} given for {day.isoformat()} is dated {doc.date}"
                )
    return found


def _key_windows(
    days: Sequence[dt.date], per_day: Sequence[Mapping[str, Totals]], key_field: str
) -> list[dict]:
    """One entry per key seen on any day: zero-filled dailyStats and totals, sorted."""
    labels = [d.isoformat() for d in days]
    keys = set().union(*per_day)
    entries = []
    for key in keys:
        stats, minutes, views = key_series(key, labels, per_day)
        entries.append(
            {
                key_field: key,
                "dailyStats": stats,
                "totalMinutesViewed": minutes,
                "totalViewCount": views,
            }
        )
    entries.sort(key=lambda e: rank_key(e["totalMinutesViewed"], e["totalViewCount"], e[key_field]))
    return entries


def _creator_windows(days, creators_docs, start_date) -> list[dict]:
    docs = _resolve(days, creators_docs, start_date)
    per_day = [merge_rows(_day_rows(doc, "creators"), _by_creator) if doc else {} for doc in docs]
    return _key_windows(days, per_day, "creator")


@bulk_build
def rolling_creators(
    end: dt.date,
    creators_docs: Mapping[dt.date, CreatorsDoc | RawCreatorMinutes | None],
    *,
    start_date: dt.date,
) -> RollingCreatorsDoc:
    """Every creator with views on any of d-6..d, with dailyStats ×7 and window totals."""
    days = window_days(end)
    return RollingCreatorsDoc.model_validate(
        {
            "startDate": days[0].isoformat(),
            "endDate": days[-1].isoformat(),
            "creators": _creator_windows(days, creators_docs, start_date),
        }
    )


@bulk_build
def rolling_countries(
    end: dt.date,
    countries_docs: Mapping[dt.date, CountriesDoc | RawCountryMinutes | None],
    *,
    start_date: dt.date,
) -> RollingCountriesDoc:
    """Every country with views on any of d-6..d, with dailyStats ×7 and window totals."""
    days = window_days(end)
    docs = _resolve(days, countries_docs, start_date)
    per_day = [merge_rows(_day_rows(doc, "countries"), _by_country) if doc else {} for doc in docs]
    return RollingCountriesDoc.model_validate(
        {
            "startDate": days[0].isoformat(),
            "endDate": days[-1].isoformat(),
            "countries": _key_windows(days, per_day, "clientCountryName"),
        }
    )


@bulk_build
def weekly_creators(
    monday: dt.date,
    creators_docs: Mapping[dt.date, CreatorsDoc | RawCreatorMinutes | None],
    *,
    start_date: dt.date,
) -> WeeklyCreatorsDoc:
    """Every creator with views in the week Monday..Sunday, with dailyStats ×7 and totals."""
    days = _week_days(monday)
    return WeeklyCreatorsDoc.model_validate(
        {
            "weekStart": days[0].isoformat(),
            "weekEnd": days[-1].isoformat(),
            "creators": _creator_windows(days, creators_docs, start_date),
        }
    )


def _top_windows(entries: Sequence[Any], key_field: str) -> list[dict]:
    """The first ten window entries (CreatorWindow/CountryWindow) as top-list entries."""
    best = top_n(
        entries,
        TOP_LIST_SIZE,
        key=lambda e: rank_key(e.totalMinutesViewed, e.totalViewCount, getattr(e, key_field)),
    )
    return [
        {
            key_field: getattr(e, key_field),
            "minutesViewed": e.totalMinutesViewed,
            "viewCount": e.totalViewCount,
        }
        for e in best
    ]


def _top_countries(totals: Mapping[str, Totals]) -> list[dict]:
    return [
        {"clientCountryName": k, "minutesViewed": m, "viewCount": v}
        for k, (m, v) in top_totals(totals, TOP_LIST_SIZE)
    ]


def _summary_body(
    days: Sequence[dt.date],
    summaries: Sequence[SummaryDoc | None],
    videos_docs: Sequence[VideosWithPostsDoc | None],
) -> dict:
    """Totals, dailyStats and merged topVideos shared by the rolling and weekly summaries."""
    day_totals = [
        [s.totalMinutesViewed, s.totalViewCount] if s is not None else None for s in summaries
    ]
    videos: dict[str, Totals] = {}
    for doc in videos_docs:
        if doc is not None:
            merge_rows(doc.videos, _by_uid, into=videos)
    return {
        "totalMinutesViewed": sum(t[0] for t in day_totals if t is not None),
        "totalViewCount": sum(t[1] for t in day_totals if t is not None),
        "dailyStats": series([d.isoformat() for d in days], day_totals),
        "topVideos": [
            {"uid": k, "minutesViewed": m, "viewCount": v}
            for k, (m, v) in top_totals(videos, TOP_LIST_SIZE)
        ],
    }


def _check_window(doc: Any, first: str, last: str, first_field: str, last_field: str) -> None:
    got = (getattr(doc, first_field), getattr(doc, last_field))
    if got != (first, last):
        raise ValueError(
            f"{type(doc).__name__} covers {got[0]}..{got[1]}, expected {first}..{last}"
        )


@bulk_build
def rolling_summary(
    end: dt.date,
    summaries: Mapping[dt.date, SummaryDoc | None],
    videos_docs: Mapping[dt.date, VideosWithPostsDoc | None],
    *,
    creators: RollingCreatorsDoc,
    countries: RollingCountriesDoc,
    start_date: dt.date,
) -> RollingSummaryDoc:
    """The platform summary of d-6..d.

    Totals are the sum of the seven daily summaries' totals; `topCreators`/`topCountries`
    are the first ten of the rolling creators/countries documents of the same window;
    `topVideos` merges the seven days' full top-N video lists (summed per uid).
    """
    days = window_days(end)
    first, last = days[0].isoformat(), days[-1].isoformat()
    _check_window(creators, first, last, "startDate", "endDate")
    _check_window(countries, first, last, "startDate", "endDate")
    found = _resolve(days, summaries, start_date, videos_docs)
    body = _summary_body(days, found, [videos_docs.get(d) for d in days])
    return RollingSummaryDoc.model_validate(
        {
            "startDate": first,
            "endDate": last,
            "totalMinutesViewed": body["totalMinutesViewed"],
            "totalViewCount": body["totalViewCount"],
            "dailyStats": body["dailyStats"],
            "topCreators": _top_windows(creators.creators, "creator"),
            "topCountries": _top_windows(countries.countries, "clientCountryName"),
            "topVideos": body["topVideos"],
        }
    )


@bulk_build
def weekly_summary(
    monday: dt.date,
    summaries: Mapping[dt.date, SummaryDoc | None],
    videos_docs: Mapping[dt.date, VideosWithPostsDoc | None],
    countries_docs: Mapping[dt.date, CountriesDoc | RawCountryMinutes | None],
    *,
    creators: WeeklyCreatorsDoc,
    start_date: dt.date,
) -> WeeklySummaryDoc:
    """The platform summary of the week Monday..Sunday.

    Totals are the sum of the seven daily summaries' totals; `topCreators` are the first
    ten of the weekly creators document; `topCountries` sums the seven daily countries
    documents; `topVideos` merges the seven days' full top-N video lists (summed per uid).
    """
    days = _week_days(monday)
    first, last = days[0].isoformat(), days[-1].isoformat()
    _check_window(creators, first, last, "weekStart", "weekEnd")
    found = _resolve(days, summaries, start_date, videos_docs, countries_docs)
    body = _summary_body(days, found, [videos_docs.get(d) for d in days])
    countries: dict[str, Totals] = {}
    for day in days:
        doc = countries_docs.get(day)
        if doc is not None:
            merge_rows(_day_rows(doc, "countries"), _by_country, into=countries)
    return WeeklySummaryDoc.model_validate(
        {
            "weekStart": first,
            "weekEnd": last,
            "totalMinutesViewed": body["totalMinutesViewed"],
            "totalViewCount": body["totalViewCount"],
            "dailyStats": body["dailyStats"],
            "topCreators": _top_windows(creators.creators, "creator"),
            "topCountries": _top_countries(countries),
            "topVideos": body["topVideos"],
        }
    )
