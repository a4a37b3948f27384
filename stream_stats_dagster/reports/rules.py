"""The report rules shared by every document (contract §5), over pandas frames.

- A missing or empty creator or country is grouped under `NULL_KEY`, never dropped, so
  that the parts add up to the total; rows mapping to the same key are summed.
- Lists sort by minutesViewed desc, viewCount desc, then the key ascending (plain `str`
  order; for posts the key is (creator, postName)).
- A ×7 series has one entry per day, ascending, zero-filled; a day of the window is
  zero-filled only when it lies before the start date, otherwise it is missing data and
  `MissingDaysError` stops the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd

from stream_stats_dagster.facts import MINUTES, VALUES, VIEWS

NULL_KEY = "__null__"
"""The group of a missing or empty dimension (creator, country, post of a deleted video)."""

TOP_LIST_SIZE = 10  # topCreators / topCountries / topVideos
POST_TOP_VIDEOS = 5  # a post's topVideos

T = TypeVar("T")
_DIGITS = "0123456789"
_SEPARATORS = "-_ "


class MissingDaysError(ValueError):
    """Days inside a window (on/after the start date) whose data is missing.

    The message is one line: `missing data for 2025-03-07, 2025-03-09 (window
    2025-03-05..2025-03-11)`; `.days` holds the missing dates, ascending.
    """

    def __init__(self, days: Iterable[dt.date], window: Sequence[dt.date]):
        self.days: tuple[dt.date, ...] = tuple(sorted(set(days)))
        self.window: tuple[dt.date, dt.date] = (window[0], window[-1])
        listed = ", ".join(d.isoformat() for d in self.days)
        super().__init__(f"missing data for {listed} (window {self.window[0]}..{self.window[1]})")

    def __reduce__(self):  # picklable although __init__ does not take the message
        return (type(self), (self.days, self.window))


# --- keys ------------------------------------------------------------------------------


def null_key(value: str | None) -> str:
    """`NULL_KEY` for None or "", the value itself otherwise."""
    return value if value else NULL_KEY


def null_keys(values: pd.Series) -> pd.Series:
    """`null_key` of every value of a column."""
    return values.where(values.notna() & (values != ""), NULL_KEY)


def strip_extension(name: str) -> str:
    """`lady001.mp4` -> `lady001`: drop the last `.xxx` when its dot is not at position 0."""
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def post_name(file_name: str | None) -> str:
    """The post a file belongs to: `lady001.mp4` -> `lady`, `인기포스트23` -> `인기포스트`.

    Name minus its extension, then minus the run of trailing ASCII digits, then minus the
    run of trailing `-`, `_` or spaces; if nothing is left, the name without extension
    (`123.mp4` -> `123`). No name at all (None or "") is `NULL_KEY`.
    """
    if not file_name:
        return NULL_KEY
    stem = strip_extension(file_name)
    base = stem.rstrip(_DIGITS).rstrip(_SEPARATORS)
    return base or stem


# --- sums and order --------------------------------------------------------------------


def totals_by(frame: pd.DataFrame, key: str | list[str]) -> pd.DataFrame:
    """Minutes and views summed per key (first-appearance order), key columns first."""
    keys = [key] if isinstance(key, str) else key
    if frame.empty:
        return frame[[*keys, *VALUES]].iloc[:0].astype(dict.fromkeys(VALUES, "int64"))
    return frame.groupby(keys, sort=False, as_index=False)[VALUES].sum()


def ranked(
    frame: pd.DataFrame, key: str | list[str], minutes: str = MINUTES, views: str = VIEWS
) -> pd.DataFrame:
    """Rows in report order: minutes desc, views desc, key asc; index reset."""
    keys = [key] if isinstance(key, str) else key
    order = frame.sort_values(
        [minutes, views, *keys],
        ascending=[False, False, *[True] * len(keys)],
        kind="mergesort",
    )
    return order.reset_index(drop=True)


def top(frame: pd.DataFrame, key: str, n: int = TOP_LIST_SIZE) -> pd.DataFrame:
    """The first `n` rows in report order, shaped `{key, minutesViewed, viewCount}`."""
    return ranked(frame, key).head(n)[[key, *VALUES]]


# --- windows ---------------------------------------------------------------------------


def resolve_window(
    days: Sequence[dt.date],
    found: Mapping[dt.date, T | None],
    *,
    start_date: dt.date,
    sources: Sequence[Mapping[dt.date, object]] = (),
) -> list[T | None]:
    """The value of each day of a window from what the caller found, in `days` order.

    A day absent or None before `start_date` yields None (the caller zero-fills it); such a
    day on/after `start_date` is missing data. Every mapping in `sources` is checked the
    same way, and all missing days of all of them are named in one `MissingDaysError`.
    """
    missing = {
        day
        for mapping in (found, *sources)
        for day in days
        if day >= start_date and mapping.get(day) is None
    }
    if missing:
        raise MissingDaysError(missing, days)
    return [found.get(day) for day in days]


def series_matrix(
    keys: pd.Index, per_day: Sequence[pd.DataFrame | None], key: str
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes and views of each key (rows) on each day (columns), zero-filled.

    `per_day` holds each day's totals with one row per key (None: a zero-filled day)."""
    shape = (len(keys), len(per_day))
    minutes, views = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    for column, day in enumerate(per_day):
        if day is None or day.empty:
            continue
        rows = keys.get_indexer(day[key])
        known = rows >= 0
        minutes[rows[known], column] = day[MINUTES].to_numpy()[known]
        views[rows[known], column] = day[VIEWS].to_numpy()[known]
    return minutes, views
