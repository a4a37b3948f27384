"""Each creator's own files (docs/contract.md §4, "Each creator's files"): pure, no Dagster.

An uploader's page shows their day, their last 7 days, their videos and posts of the day, and
their week. The all-creator files hold every creator's numbers (megabytes a day), so each
creator also gets files of their own, written from the very tables the all-creator files
are written from: their entry of the daily creators table, of the rolling creators table
(the seven days ending on the day) and of the weekly creators table, and their videos of the
day from the complete per-uid minutes with the catalogue's names (built like
`videos-with-posts`, which covers only the day's top videos).

Entries are copied as the JSON text of those tables (`Table.json_entries`), so a creator's
row is byte for byte their row in the all-creator file, and nothing of another creator's is
in the text: each file is assembled only from entries whose `creator` is theirs.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from stream_stats_dagster.facts import MINUTES, SCHEMA_VERSION
from stream_stats_dagster.reports.tables import Document, Table, json_text

__all__ = [
    "CreatorDays",
    "creator_day_files",
    "creator_week_files",
    "uid_metadata",
]


def uid_metadata(uids: pd.Series, catalog: pd.DataFrame) -> pd.DataFrame:
    """Metadata rows (`uid, found, name, title`, as `daily.video_identity` reads them) for
    `uids` from the day's catalogue snapshot. A uid the catalogue does not hold (deleted
    during the day) is not found: it keeps its minutes and belongs to no post."""
    names = catalog.drop_duplicates("uid").set_index("uid")[["name", "title"]]
    found = names.reindex(pd.Index(uids.unique(), name="uid"))
    frame = found.reset_index()
    frame["found"] = frame["uid"].isin(names.index)
    frame = frame.astype({"name": object, "title": object})
    return frame.where(frame.notna(), None)


def _entries_by_creator(table: Table) -> dict[str, list[str]]:
    """Each creator's entries of `table` as JSON text, in the table's order."""
    out: dict[str, list[str]] = defaultdict(list)
    for creator, entry in zip(table.frame["creator"].tolist(), table.json_entries(), strict=True):
        out[creator].append(entry)
    return out


@dataclass(frozen=True)
class CreatorDays:
    """A day's creator files (`{creator: bytes}`), and the day's videos whose creator has
    no file (no views in the window by the creator query, which ran apart from the per-uid
    query: a view that landed between the two)."""

    files: dict[str, bytes]
    videos_without_file: int
    minutes_without_file: int


def creator_day_files(
    day: dt.date, creators: Document, last7: Document, videos: Document
) -> CreatorDays:
    """The day's file of every creator in the rolling creators table of `day` (`last7`,
    from `windows.rolling_creators`): their row of the daily `creators` document (or null),
    of `last7`, and their entries of `videos` (`daily.videos_with_posts` of the day's
    complete per-uid minutes), each as the JSON text of those tables."""
    window = last7["creators"]
    day_rows = dict(
        zip(
            creators["creators"].frame["creator"].tolist(),
            creators["creators"].json_entries(),
            strict=True,
        )
    )
    video_rows = _entries_by_creator(videos["videos"])
    post_rows = _entries_by_creator(videos["posts"])
    head = f'{{"schemaVersion":{SCHEMA_VERSION},"date":{json_text(day.isoformat())},"creator":'
    bounds = f',"startDate":{json_text(last7["startDate"])},"endDate":{json_text(last7["endDate"])}'
    files = {}
    for creator, entry in zip(window.frame["creator"].tolist(), window.json_entries(), strict=True):
        text = (
            f"{head}{json_text(creator)}{bounds},"
            f'"day":{day_rows.get(creator, "null")},"last7Days":{entry},'
            f'"videos":[{",".join(video_rows.get(creator, ()))}],'
            f'"posts":[{",".join(post_rows.get(creator, ()))}]}}\n'
        )
        files[creator] = text.encode("utf-8")
    table = videos["videos"].frame
    without = ~table["creator"].isin(files)
    return CreatorDays(
        files=files,
        videos_without_file=int(without.sum()),
        minutes_without_file=int(table.loc[without, MINUTES].sum()),
    )


def creator_week_files(weekly_creators: Document) -> dict[str, bytes]:
    """The week's file of every creator in the weekly creators document: their row of it."""
    table = weekly_creators["creators"]
    head = (
        f'{{"schemaVersion":{SCHEMA_VERSION},"weekStart":{json_text(weekly_creators["weekStart"])},'
        f'"weekEnd":{json_text(weekly_creators["weekEnd"])},"creator":'
    )
    return {
        creator: f'{head}{json_text(creator)},"week":{entry}}}\n'.encode()
        for creator, entry in zip(
            table.frame["creator"].tolist(), table.json_entries(), strict=True
        )
    }
