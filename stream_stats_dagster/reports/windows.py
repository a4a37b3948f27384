"""Seven-day documents: rolling (d-6..d) and weekly (Monday..Sunday), from the raw facts.

A window is the exact sum of its seven days. The caller passes mappings `{date: frame or
None}` holding the days it found; a day absent or None is zero-filled when it lies before
the start date and raises `MissingDaysError` otherwise (all missing days of all inputs
named in one line).

Day totals come from each day's complete hourly rows, the same numbers as the daily
summaries. `topVideos` of a window merges the seven days' FULL top-N video lists (summed
per uid), not the days' top-10 lists, so a video that was 11th every day still counts with
its whole week.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from stream_stats_dagster.dates import window_days
from stream_stats_dagster.facts import MINUTES, VALUES, VIEWS
from stream_stats_dagster.reports.daily import day_series, day_totals, keyed_totals, series_table
from stream_stats_dagster.reports.rules import (
    MissingDaysError,
    ranked,
    resolve_window,
    series_matrix,
    top,
    totals_by,
)
from stream_stats_dagster.reports.tables import Document, Table

__all__ = [
    "MissingDaysError",
    "key_window",
    "rolling_countries",
    "rolling_creators",
    "rolling_summary",
    "week_days",
    "weekly_creators",
    "weekly_summary",
]

TOTAL_MINUTES, TOTAL_VIEWS = "totalMinutesViewed", "totalViewCount"
Frames = Mapping[dt.date, pd.DataFrame | None]


def week_days(monday: dt.date) -> list[dt.date]:
    if monday.weekday() != 0:
        raise ValueError(f"week start {monday.isoformat()} is not a Monday")
    return window_days(monday + dt.timedelta(days=6))


def key_window(days: Sequence[dt.date], rows: Frames, key: str, *, start_date: dt.date) -> Table:
    """One entry per key seen on any day: zero-filled dailyStats and totals, sorted."""
    found = resolve_window(days, rows, start_date=start_date)
    per_day = [keyed_totals(r, key) if r is not None else None for r in found]
    seen = [d for d in per_day if d is not None and not d.empty]
    keys = pd.Index(pd.concat([d[key] for d in seen]).unique() if seen else [], dtype=object)
    minutes, views = series_matrix(keys, per_day, key)
    entries = pd.DataFrame(
        {key: keys.to_numpy(), TOTAL_MINUTES: minutes.sum(axis=1), TOTAL_VIEWS: views.sum(axis=1)}
    )
    order = ranked(entries.assign(_row=range(len(entries))), key, TOTAL_MINUTES, TOTAL_VIEWS)
    rows_in_order = order["_row"].to_numpy()
    labels = [d.isoformat() for d in days]
    stats = series_table(minutes[rows_in_order], views[rows_in_order], labels)
    return Table(
        order[[key, TOTAL_MINUTES, TOTAL_VIEWS]],
        {"dailyStats": stats},
        order=[key, "dailyStats", TOTAL_MINUTES, TOTAL_VIEWS],
    )


def _bounds(days: Sequence[dt.date], first: str, last: str) -> dict[str, str]:
    return {first: days[0].isoformat(), last: days[-1].isoformat()}


def rolling_creators(end: dt.date, creator_rows: Frames, *, start_date: dt.date) -> Document:
    """Every creator with views on any of d-6..d, with dailyStats ×7 and window totals."""
    days = window_days(end)
    creators = key_window(days, creator_rows, "creator", start_date=start_date)
    return Document({**_bounds(days, "startDate", "endDate"), "creators": creators})


def rolling_countries(end: dt.date, country_rows: Frames, *, start_date: dt.date) -> Document:
    """Every country with views on any of d-6..d, with dailyStats ×7 and window totals."""
    days = window_days(end)
    countries = key_window(days, country_rows, "clientCountryName", start_date=start_date)
    return Document({**_bounds(days, "startDate", "endDate"), "countries": countries})


def weekly_creators(monday: dt.date, creator_rows: Frames, *, start_date: dt.date) -> Document:
    """Every creator with views in the week Monday..Sunday, with dailyStats ×7 and totals."""
    days = week_days(monday)
    creators = key_window(days, creator_rows, "creator", start_date=start_date)
    return Document({**_bounds(days, "weekStart", "weekEnd"), "creators": creators})


def _top_of_window(window: Table, key: str) -> Table:
    frame = window.frame.rename(columns={TOTAL_MINUTES: MINUTES, TOTAL_VIEWS: VIEWS})
    return Table(frame.head(10)[[key, *VALUES]])


def _summary_body(
    days: Sequence[dt.date], hourly: Frames, videos: Frames, start_date: dt.date
) -> dict:
    """Totals, dailyStats and merged topVideos shared by the rolling and weekly summaries."""
    found = resolve_window(days, hourly, start_date=start_date, sources=[videos])
    totals = [day_totals(rows) for rows in found]
    video_rows = [videos[d] for d in days if videos.get(d) is not None]
    merged = pd.concat(video_rows) if video_rows else None
    top_videos = top(totals_by(merged, "uid"), "uid") if merged is not None else None
    return {
        TOTAL_MINUTES: sum(t[0] for t in totals),
        TOTAL_VIEWS: sum(t[1] for t in totals),
        "dailyStats": day_series(totals, [d.isoformat() for d in days]),
        "topVideos": Table(
            top_videos if top_videos is not None else pd.DataFrame(columns=["uid", *VALUES])
        ),
    }


def _check_window(doc: Document, days: Sequence[dt.date], first: str, last: str) -> None:
    got = (doc[first], doc[last])
    want = (days[0].isoformat(), days[-1].isoformat())
    if got != want:
        raise ValueError(
            f"window document covers {got[0]}..{got[1]}, expected {want[0]}..{want[1]}"
        )


def rolling_summary(
    end: dt.date,
    hourly: Frames,
    videos: Frames,
    *,
    creators: Document,
    countries: Document,
    start_date: dt.date,
) -> Document:
    """The platform summary of d-6..d.

    Totals are the sum of the seven days' totals; `topCreators`/`topCountries` are the first
    ten of the rolling creators/countries documents of the same window; `topVideos` merges
    the seven days' full top-N video lists (summed per uid).
    """
    days = window_days(end)
    _check_window(creators, days, "startDate", "endDate")
    _check_window(countries, days, "startDate", "endDate")
    body = _summary_body(days, hourly, videos, start_date)
    return Document(
        {
            **_bounds(days, "startDate", "endDate"),
            TOTAL_MINUTES: body[TOTAL_MINUTES],
            TOTAL_VIEWS: body[TOTAL_VIEWS],
            "dailyStats": body["dailyStats"],
            "topCreators": _top_of_window(creators["creators"], "creator"),
            "topCountries": _top_of_window(countries["countries"], "clientCountryName"),
            "topVideos": body["topVideos"],
        }
    )


def weekly_summary(
    monday: dt.date,
    hourly: Frames,
    videos: Frames,
    country_rows: Frames,
    *,
    creators: Document,
    start_date: dt.date,
) -> Document:
    """The platform summary of the week Monday..Sunday.

    Totals are the sum of the seven days' totals; `topCreators` are the first ten of the
    weekly creators document; `topCountries` sums the seven days' countries; `topVideos`
    merges the seven days' full top-N video lists (summed per uid).
    """
    days = week_days(monday)
    _check_window(creators, days, "weekStart", "weekEnd")
    resolve_window(days, hourly, start_date=start_date, sources=[videos, country_rows])
    body = _summary_body(days, hourly, videos, start_date)
    countries = key_window(days, country_rows, "clientCountryName", start_date=start_date)
    return Document(
        {
            **_bounds(days, "weekStart", "weekEnd"),
            TOTAL_MINUTES: body[TOTAL_MINUTES],
            TOTAL_VIEWS: body[TOTAL_VIEWS],
            "dailyStats": body["dailyStats"],
            "topCreators": _top_of_window(creators["creators"], "creator"),
            "topCountries": _top_of_window(countries, "clientCountryName"),
            "topVideos": body["topVideos"],
        }
    )
