"""Daily documents (creators, countries, videos-with-posts, summary) from one day's facts.

Every function is pure and vectorised: the caller passes the fact frames it read from the
raw extracts (`facts.FACT_COLUMNS`) and gets a `Document` of frames back. Seven-day series
take a mapping `{date: frame or None}` holding whatever days the caller found; see
`rules.resolve_window` for zero-filling versus `MissingDaysError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from stream_stats_dagster.dates import window_days
from stream_stats_dagster.facts import MINUTES, VALUES, VIEWS
from stream_stats_dagster.reports.rules import (
    NULL_KEY,
    POST_TOP_VIDEOS,
    MissingDaysError,
    null_keys,
    post_name,
    ranked,
    resolve_window,
    series_matrix,
    top,
    totals_by,
)
from stream_stats_dagster.reports.tables import PARENT, Document, Table, child_table

__all__ = [
    "MissingDaysError",
    "MissingMetadataError",
    "daily_countries",
    "daily_creators",
    "daily_summary",
    "day_series",
    "day_totals",
    "keyed_totals",
    "series_table",
    "video_identity",
    "video_totals",
    "videos_with_posts",
]

SERIES_FIELDS = ["date", MINUTES, VIEWS]


class MissingMetadataError(KeyError, ValueError):
    """A top video without any metadata entry: the caller forgot to fetch or load it.

    (A deleted video is not this: it has an entry with `found=False`.)
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def keyed_totals(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per-key sums of a facts table, "" and None merged under `__null__`."""
    return totals_by(rows.assign(**{key: null_keys(rows[key])}), key)


def day_totals(hours: pd.DataFrame | None) -> tuple[int, int]:
    """A day's (minutes, views) from its complete hourly rows (0, 0 for a zero-filled day)."""
    if hours is None:
        return 0, 0
    return int(hours[MINUTES].sum()), int(hours[VIEWS].sum())


def video_totals(rows: pd.DataFrame) -> pd.DataFrame:
    """Video rows summed per uid; a uid's creator is that of its first row in report order."""
    order = ranked(rows, "uid")
    sums = order.groupby("uid", sort=False, as_index=False)[VALUES].sum()
    sums["creator"] = order.drop_duplicates("uid")["creator"].to_numpy()
    return sums


def series_table(minutes: np.ndarray, views: np.ndarray, labels: list[str]) -> Table:
    """A ×N child series `{date, minutesViewed, viewCount}` per row of the matrices."""
    entries = minutes.shape[0]
    return child_table(
        entries,
        len(labels),
        {
            "date": np.tile(np.array(labels, dtype=object), entries),
            MINUTES: minutes.ravel(),
            VIEWS: views.ravel(),
        },
    )


def day_series(totals: list[tuple[int, int]], labels: list[str]) -> Table:
    """A top-level ×N series `{date, minutesViewed, viewCount}` from per-day totals."""
    frame = pd.DataFrame(totals, columns=VALUES, dtype="int64")
    return Table(frame.assign(date=labels)[SERIES_FIELDS])


def daily_creators(
    day: dt.date, creator_rows: Mapping[dt.date, pd.DataFrame | None], *, start_date: dt.date
) -> Document:
    """Every creator with a row on `day`, with its zero-filled `trend` over d-6..d.

    `creator_rows` holds the complete creator rows of the days the caller found.
    """
    days = window_days(day)
    labels = [d.isoformat() for d in days]
    rows_by_day = resolve_window(days, creator_rows, start_date=start_date)
    per_day = [keyed_totals(rows, "creator") if rows is not None else None for rows in rows_by_day]
    today = ranked(per_day[-1], "creator")
    minutes, views = series_matrix(pd.Index(today["creator"]), per_day, "creator")
    creators = Table(today[["creator", *VALUES]], {"trend": series_table(minutes, views, labels)})
    return Document({"date": day.isoformat(), "creators": creators})


def daily_countries(day: dt.date, rows: pd.DataFrame) -> Document:
    """Every country with views on `day`; "" is merged under `__null__`."""
    countries = ranked(keyed_totals(rows, "clientCountryName"), "clientCountryName")
    return Document({"date": day.isoformat(), "countries": Table(countries)})


def video_identity(metadata: pd.DataFrame) -> pd.DataFrame:
    """`fileName`, `postName`, `realTitle` of each video from its metadata row.

    A deleted video (404, `found=False`) or one without `meta.name` belongs to no post:
    `(None, "__null__", "__null__")`.
    """
    named = metadata["found"].astype(bool) & metadata["name"].notna() & (metadata["name"] != "")
    file_names = metadata["name"].where(named, None)
    posts = pd.Series(
        [post_name(n) if ok else NULL_KEY for n, ok in zip(file_names, named, strict=True)],
        index=metadata.index,
        dtype=object,
    )
    titles = metadata["title"].where(
        named & metadata["title"].notna() & (metadata["title"] != ""), None
    )
    titles = titles.where(titles.notna(), posts)
    return pd.DataFrame(
        {"fileName": file_names.astype(object), "postName": posts, "realTitle": titles}
    )


def videos_with_posts(day: dt.date, videos: pd.DataFrame, metadata: pd.DataFrame) -> Document:
    """The day's top-N videos with file/post names, and the posts built from them.

    A video's `creator` is its GraphQL row's creator (through `null_key`), not the REST
    one. Rows repeating a uid are summed (creator of the first in sort order). Posts are
    keyed by (creator, postName); a post's `realTitle` is its first video's, and its
    `topVideos` are its first five videos in sort order.
    """
    merged = ranked(video_totals(videos), "uid")
    known = merged["uid"].isin(metadata["uid"])
    if not known.all():
        missing = merged.loc[~known, "uid"].tolist()
        more = f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""
        shown = ", ".join(missing[:5]) + more
        raise MissingMetadataError(
            f"no metadata for {len(missing)} top video(s) of {day.isoformat()}: {shown}"
        )
    meta = metadata.drop_duplicates("uid").set_index("uid").reindex(merged["uid"]).reset_index()
    identity = video_identity(meta)
    table = pd.concat(
        [merged[["uid"]], null_keys(merged["creator"]).rename("creator"), identity, merged[VALUES]],
        axis=1,
    )
    table["fileName"] = table["fileName"].astype(object).where(table["fileName"].notna(), None)

    post_key = ["creator", "postName"]
    groups = table.groupby(post_key, sort=False)
    posts = groups.agg(
        realTitle=("realTitle", "first"),
        videoCount=("uid", "size"),
        **{MINUTES: (MINUTES, "sum"), VIEWS: (VIEWS, "sum")},
    ).reset_index()
    posts = ranked(posts, post_key)
    position = pd.Series(np.arange(len(posts)), index=pd.MultiIndex.from_frame(posts[post_key]))
    best = groups.head(POST_TOP_VIDEOS)
    best = best.assign(
        **{PARENT: position.reindex(pd.MultiIndex.from_frame(best[post_key])).to_numpy()}
    )
    best = best.sort_values(PARENT, kind="mergesort")
    top_videos = Table(best[[PARENT, "uid", "fileName", *VALUES]].reset_index(drop=True))
    post_fields = ["creator", "postName", "realTitle", "videoCount", *VALUES]
    return Document(
        {
            "date": day.isoformat(),
            "videos": Table(table),
            "posts": Table(posts[post_fields], {"topVideos": top_videos}),
        }
    )


def daily_summary(
    day: dt.date,
    hourly_rows: Mapping[dt.date, pd.DataFrame | None],
    *,
    creators: pd.DataFrame,
    countries: pd.DataFrame,
    videos: pd.DataFrame,
    start_date: dt.date,
) -> Document:
    """The platform summary of `day`.

    Totals and `dailyTrend` come from the complete hourly rows of each day (never from a
    truncated list); `hourlyTrend` is the day's hourly rows as given (one per local hour).
    `topCreators`/`topCountries`/`topVideos` are the first ten of the day's rows.
    """
    days = window_days(day)
    labels = [d.isoformat() for d in days]
    rows_by_day = resolve_window(days, hourly_rows, start_date=start_date)
    totals = [day_totals(rows) for rows in rows_by_day]
    today = rows_by_day[-1]
    hours = (
        today[["hour", *VALUES]] if today is not None else pd.DataFrame(columns=["hour", *VALUES])
    )
    return Document(
        {
            "date": day.isoformat(),
            "totalMinutesViewed": totals[-1][0],
            "totalViewCount": totals[-1][1],
            "uniqueViewers": None,
            "topCreators": Table(top(keyed_totals(creators, "creator"), "creator")),
            "topCountries": Table(
                top(keyed_totals(countries, "clientCountryName"), "clientCountryName")
            ),
            "topVideos": Table(top(totals_by(videos, "uid"), "uid")),
            "dailyTrend": day_series(totals, labels),
            "hourlyTrend": Table(hours.reset_index(drop=True)),
        }
    )
