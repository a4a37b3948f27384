"""Daily documents (creators, countries, videos-with-posts, summary) from one day's facts.

Every function is pure: the caller passes the rows it read from the raw extracts and gets
a validated document back. Seven-day series take a mapping `{date: rows or None}` holding
whatever days the caller found; see `rules.resolve_window` for zero-filling versus
`MissingDaysError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from stream_stats_dagster.dates import window_days
from stream_stats_dagster.facts import (
    CountryMinutes,
    CreatorMinutes,
    HourMinutes,
    VideoMetadata,
    VideoMinutes,
)
from stream_stats_dagster.reports.models import (
    CountriesDoc,
    CreatorsDoc,
    SummaryDoc,
    VideosWithPostsDoc,
)
from stream_stats_dagster.reports.rules import (
    NULL_KEY,
    MissingDaysError,
    bulk_build,
    country_totals,
    creator_totals,
    key_series,
    merge_rows,
    post_name,
    rank_key,
    ranked_totals,
    resolve_window,
    series,
    sum_totals,
    top_totals,
)

__all__ = [
    "POST_TOP_VIDEOS",
    "TOP_LIST_SIZE",
    "MissingDaysError",
    "MissingMetadataError",
    "daily_countries",
    "daily_creators",
    "daily_summary",
    "video_identity",
    "videos_with_posts",
]

TOP_LIST_SIZE = 10  # topCreators / topCountries / topVideos
POST_TOP_VIDEOS = 5  # a post's topVideos


class MissingMetadataError(KeyError, ValueError):
    """A top video without any metadata entry: the caller forgot to fetch or load it.

    (A deleted video is not this: it has an entry with `found=False`.)
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


@bulk_build
def daily_creators(
    day: dt.date,
    creator_rows: Mapping[dt.date, Sequence[CreatorMinutes] | None],
    *,
    start_date: dt.date,
) -> CreatorsDoc:
    """Every creator with a row on `day`, with its zero-filled `trend` over d-6..d.

    `creator_rows` holds the complete creator rows of the days the caller found.
    """
    days = window_days(day)
    labels = [d.isoformat() for d in days]
    rows_by_day = resolve_window(days, creator_rows, start_date=start_date)
    per_day = [creator_totals(rows) if rows is not None else {} for rows in rows_by_day]
    creators = []
    for creator, (minutes, views) in ranked_totals(per_day[-1]):
        trend, _, _ = key_series(creator, labels, per_day)
        creators.append(
            {"creator": creator, "minutesViewed": minutes, "viewCount": views, "trend": trend}
        )
    return CreatorsDoc.model_validate({"date": day.isoformat(), "creators": creators})


@bulk_build
def daily_countries(day: dt.date, rows: Sequence[CountryMinutes]) -> CountriesDoc:
    """Every country with views on `day`; "" is merged under `__null__`."""
    countries = [
        {"clientCountryName": country, "minutesViewed": minutes, "viewCount": views}
        for country, (minutes, views) in ranked_totals(country_totals(rows))
    ]
    return CountriesDoc.model_validate({"date": day.isoformat(), "countries": countries})


def video_identity(meta: VideoMetadata) -> tuple[str | None, str, str]:
    """`(fileName, postName, realTitle)` of a video from its metadata.

    A deleted video (404, `found=False`) or one without `meta.name` belongs to no post:
    `(None, "__null__", "__null__")`.
    """
    if not meta.found or not meta.name:
        return None, NULL_KEY, NULL_KEY
    name = post_name(meta.name)
    return meta.name, name, meta.title or name


@bulk_build
def videos_with_posts(
    day: dt.date,
    videos: Sequence[VideoMinutes],
    metadata: Mapping[str, VideoMetadata],
) -> VideosWithPostsDoc:
    """The day's top-N videos with file/post names, and the posts built from them.

    A video's `creator` is its GraphQL row's creator (through `null_key`), not the REST
    one. Rows repeating a uid are summed (creator of the first in sort order). Posts are
    keyed by (creator, postName); a post's `realTitle` is its first video's, and its
    `topVideos` are its first five videos in sort order.
    """
    merged: dict[str, list] = {}
    for row in sorted(videos, key=lambda r: rank_key(r.minutesViewed, r.viewCount, r.uid)):
        entry = merged.get(row.uid)
        if entry is None:
            merged[row.uid] = [row.minutesViewed, row.viewCount, row.creator]
        else:
            entry[0] += row.minutesViewed
            entry[1] += row.viewCount
    ordered = sorted(merged.items(), key=lambda kv: rank_key(kv[1][0], kv[1][1], kv[0]))

    missing = [uid for uid, _ in ordered if uid not in metadata]
    if missing:
        more = f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""
        shown = ", ".join(missing[:5]) + more
        raise MissingMetadataError(
            f"no metadata for {len(missing)} top video(s) of {day.isoformat()}: {shown}"
        )

    video_entries = []
    posts: dict[tuple[str, str], dict] = {}
    for uid, (minutes, views, creator_raw) in ordered:
        file_name, name, title = video_identity(metadata[uid])
        creator = creator_raw or NULL_KEY
        video_entries.append(
            {
                "uid": uid,
                "creator": creator,
                "fileName": file_name,
                "postName": name,
                "realTitle": title,
                "minutesViewed": minutes,
                "viewCount": views,
            }
        )
        post = posts.get((creator, name))
        if post is None:  # first video of the post in sort order
            post = posts[(creator, name)] = {
                "creator": creator,
                "postName": name,
                "realTitle": title,
                "videoCount": 0,
                "minutesViewed": 0,
                "viewCount": 0,
                "topVideos": [],
            }
        post["videoCount"] += 1
        post["minutesViewed"] += minutes
        post["viewCount"] += views
        if len(post["topVideos"]) < POST_TOP_VIDEOS:
            post["topVideos"].append(
                {"uid": uid, "fileName": file_name, "minutesViewed": minutes, "viewCount": views}
            )

    post_list = sorted(
        posts.values(),
        key=lambda p: rank_key(p["minutesViewed"], p["viewCount"], (p["creator"], p["postName"])),
    )
    return VideosWithPostsDoc.model_validate(
        {"date": day.isoformat(), "videos": video_entries, "posts": post_list}
    )


@bulk_build
def daily_summary(
    day: dt.date,
    hourly_rows: Mapping[dt.date, Sequence[HourMinutes] | None],
    *,
    creators: Sequence[CreatorMinutes],
    countries: Sequence[CountryMinutes],
    videos: Sequence[VideoMinutes],
    start_date: dt.date,
) -> SummaryDoc:
    """The platform summary of `day`.

    Totals and `dailyTrend` come from the complete hourly rows of each day (never from a
    truncated list); `hourlyTrend` is the day's hourly rows as given (one per local hour).
    `topCreators`/`topCountries`/`topVideos` are the first ten of the day's rows.
    """
    days = window_days(day)
    labels = [d.isoformat() for d in days]
    rows_by_day = resolve_window(days, hourly_rows, start_date=start_date)
    day_totals = [sum_totals(rows) if rows is not None else None for rows in rows_by_day]
    today_rows = rows_by_day[-1] or []
    total_minutes, total_views = day_totals[-1] or (0, 0)
    return SummaryDoc.model_validate(
        {
            "date": day.isoformat(),
            "totalMinutesViewed": total_minutes,
            "totalViewCount": total_views,
            "uniqueViewers": None,
            "topCreators": [
                {"creator": k, "minutesViewed": m, "viewCount": v}
                for k, (m, v) in top_totals(creator_totals(creators), TOP_LIST_SIZE)
            ],
            "topCountries": [
                {"clientCountryName": k, "minutesViewed": m, "viewCount": v}
                for k, (m, v) in top_totals(country_totals(countries), TOP_LIST_SIZE)
            ],
            "topVideos": [
                {"uid": k, "minutesViewed": m, "viewCount": v}
                for k, (m, v) in top_totals(merge_rows(videos, lambda r: r.uid), TOP_LIST_SIZE)
            ],
            "dailyTrend": series(labels, day_totals),
            "hourlyTrend": [
                {"hour": r.hour, "minutesViewed": r.minutesViewed, "viewCount": r.viewCount}
                for r in today_rows
            ],
        }
    )
