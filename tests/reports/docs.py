"""A coherent week of hand-made facts and every report document built from it, for the
check tests (each test corrupts a copy of one document's frames)."""

from __future__ import annotations

import copy
import datetime as dt

from stream_stats_dagster.reports.daily import (
    daily_countries,
    daily_creators,
    daily_summary,
    videos_with_posts,
)
from stream_stats_dagster.reports.tables import Document
from stream_stats_dagster.reports.windows import (
    rolling_countries,
    rolling_creators,
    rolling_summary,
    weekly_creators,
    weekly_summary,
)
from tests.reports.inputs import D, countries, creators, days, hours, meta, metadata, videos

END = D(2025, 3, 16)  # a Sunday: the rolling window is also the ISO week 03-10..03-16
DAYS = days(D(2025, 3, 10))
START = D(2025, 3, 12)  # 03-10 and 03-11 have no data and are zero-filled


def day_facts(day: dt.date) -> dict:
    """A coherent day: creators, countries and hours all add up to 10n minutes, 4n views."""
    n = day.day % 4 + 1
    return {
        "creators": creators(("", 3 * n, n), ("RYAN", 5 * n, 2 * n), ("test", 2 * n, n)),
        "countries": countries(("KR", 8 * n, 3 * n), ("", 2 * n, n)),
        "hours": hours(day, h05=(10 * n, 4 * n)),
        "videos": videos(
            (f"u{day.day}a", "RYAN", 4 * n, n),
            (f"u{day.day}b", "RYAN", n, 1),
            (f"u{day.day}c", "test", n, 1),
            ("gone", "", n, 1),
        ),
    }


METADATA = metadata(
    meta("gone", found=False),
    *[meta(f"u{d.day}a", "ep01.mp4", "Title") for d in DAYS],
    *[meta(f"u{d.day}b", "ep02.mp4") for d in DAYS],
    *[meta(f"u{d.day}c", f"lady{d.day:03d}.mp4") for d in DAYS],
)


def build() -> dict[str, Document]:
    """Every document of END (daily) and of the window ending at END, by asset name."""
    facts = {d: day_facts(d) for d in DAYS if d >= START}

    def each(kind):
        return {d: f[kind] for d, f in facts.items()}

    c, k, v, h = each("creators"), each("countries"), each("videos"), each("hours")
    rc = rolling_creators(END, c, start_date=START)
    rk = rolling_countries(END, k, start_date=START)
    wc = weekly_creators(DAYS[0], c, start_date=START)
    return {
        "creators": daily_creators(END, c, start_date=START),
        "countries": daily_countries(END, k[END]),
        "videos_with_posts": videos_with_posts(END, v[END], METADATA),
        "summary": daily_summary(
            END, h, creators=c[END], countries=k[END], videos=v[END], start_date=START
        ),
        "rolling_creators": rc,
        "rolling_countries": rk,
        "rolling_summary": rolling_summary(END, h, v, creators=rc, countries=rk, start_date=START),
        "weekly_creators": wc,
        "weekly_summary": weekly_summary(DAYS[0], h, v, k, creators=wc, start_date=START),
        # what each creator's files are cut from: the day's videos from the complete per-uid
        # minutes (here the hand-made videos are all of the day's), and the weekly creators
        "creator_days": videos_with_posts(END, v[END], METADATA),
        "creator_weeks": wc,
    }


BUILT = build()


def fresh(name: str) -> Document:
    """A deep copy of a built document, free to corrupt."""
    return copy.deepcopy(BUILT[name])
