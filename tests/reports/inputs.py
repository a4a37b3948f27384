"""Small hand-made fact frames for the report tests.

Each builder takes `(key, minutes, views)` tuples and returns the frame the raw extracts
would give (`facts.fact_frame`), so the tests read like the tables they describe.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from stream_stats_dagster.facts import VideoMetadata, fact_frame, metadata_frame

D = dt.date
START = D(2025, 1, 1)


def days(first: dt.date, n: int = 7) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range(n)]


def labels(dates: list[dt.date]) -> list[str]:
    return [d.isoformat() for d in dates]


def _frame(kind: str, key: str, rows) -> pd.DataFrame:
    return fact_frame(
        kind,
        {
            key: [r[0] for r in rows],
            "minutesViewed": [r[1] for r in rows],
            "viewCount": [r[2] for r in rows],
        },
    )


def creators(*rows: tuple) -> pd.DataFrame:
    """`creators(("RYAN", 120, 45), ("", 3, 1))`."""
    return _frame("creators", "creator", rows)


def countries(*rows: tuple) -> pd.DataFrame:
    return _frame("countries", "clientCountryName", rows)


def videos(*rows: tuple) -> pd.DataFrame:
    """`videos(("u1", "RYAN", 85, 35), ...)`: (uid, GraphQL creator, minutes, views)."""
    return fact_frame(
        "videos",
        {
            "uid": [r[0] for r in rows],
            "creator": [r[1] for r in rows],
            "minutesViewed": [r[2] for r in rows],
            "viewCount": [r[3] for r in rows],
        },
    )


def hours(day: dt.date, values: list[tuple[int, int]] | None = None, **special) -> pd.DataFrame:
    """24 local hours of `day` (`values`, default all zero); `h13=(50, 5)` sets one hour."""
    values = list(values or [(0, 0)] * 24)
    for hour, mv in special.items():
        values[int(hour[1:])] = mv
    return fact_frame(
        "hours",
        {
            "hour": [f"{day.isoformat()}T{h:02d}:00:00+09:00" for h in range(len(values))],
            "minutesViewed": [m for m, _ in values],
            "viewCount": [v for _, v in values],
        },
    )


def flat_hours(day: dt.date, m: int = 0, v: int = 0) -> pd.DataFrame:
    return hours(day, [(m, v)] * 24)


def meta(
    uid: str,
    name: str | None = None,
    title: str | None = None,
    *,
    found: bool = True,
    creator: str | None = "rest-creator",
) -> VideoMetadata:
    return VideoMetadata(uid=uid, found=found, creator=creator, name=name, title=title)


def metadata(*entries: VideoMetadata) -> pd.DataFrame:
    return metadata_frame(list(entries))


def series(dates: list[str], *pairs: tuple[int, int]) -> list[dict]:
    """Expected ×N series entries."""
    return [
        {"date": d, "minutesViewed": m, "viewCount": v}
        for d, (m, v) in zip(dates, pairs, strict=True)
    ]


Z = (0, 0)
