"""Each creator's own files, in the daily and weekly steps (`reports.creator_files`).

The daily step builds them from the tables of its all-creator files (the day's creators,
the seven days' creator rows) and two more of the day's raw extracts, read from storage:
the complete per-uid minutes (`raw_uid_minutes`) and the catalogue snapshot
(`video_catalog`). They are published with the day's other files, only if all of the day's
checks passed, and a rebuild writes them again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..documents import read_documents
from ..files import COST_FILES, CREATOR_FILES, FileSet
from ..keys import creator_key
from ..reports import costs, windows
from ..reports import daily as report
from ..reports.checks import CheckResult, one_key_per_creator
from ..reports.creator_files import creator_day_files, creator_week_files, uid_metadata
from ..reports.tables import Document
from .common import RawInputs
from .storage_resource import StorageResource

COLLECT_HINT = "collect the day again (stream-stats collect --date {day})"


class MissingCreatorInputs(ValueError):
    """A day whose per-uid minutes or catalogue snapshot is not stored (or was stored
    before per-uid rows carried their creator): its files cannot be built."""


def keyed_files(
    files: dict[str, bytes], kind: str, partition_key: str, secret: bytes | None
) -> tuple[FileSet, CheckResult]:
    """`{object key: bytes}` of `{creator: bytes}`, and the check that no two creators
    share a key."""
    spec = CREATOR_FILES[kind]
    check = one_key_per_creator(list(files), lambda c: creator_key(c, secret))
    keyed = {spec.key(creator_key(c, secret), partition_key): b for c, b in files.items()}
    return FileSet(keyed), check


class CreatorInputs:
    """The run days' per-uid minutes (with their creators) and catalogue snapshots."""

    def __init__(self, storage: StorageResource, days: Sequence[dt.date], secret: bytes | None):
        keys = [d.isoformat() for d in days]
        store, bucket = storage.get_store(), storage.private
        self.secret = secret
        self.minutes = read_documents(store, bucket, COST_FILES["raw_uid_minutes"], keys)
        self.catalogs = read_documents(store, bucket, COST_FILES["video_catalog"], keys)

    def uid_rows(self, day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The day's per-uid rows (uid, creator, minutes, views) and catalogue names."""
        k = day.isoformat()
        doc, catalog = self.minutes.get(k), self.catalogs.get(k)
        if doc is None or catalog is None:
            what = "raw_uid_minutes" if doc is None else "video_catalog"
            raise MissingCreatorInputs(
                f"{k}: {what} is not stored, so the creators' files cannot be built: "
                + COLLECT_HINT.format(day=k)
            )
        if doc.columns.creator is None:
            raise MissingCreatorInputs(
                f"{k}: raw_uid_minutes was stored without creators (before the creators' "
                "files): " + COLLECT_HINT.format(day=k)
            )
        rows = costs.uid_minutes_frame(doc)
        rows["creator"] = np.array(doc.columns.creator, dtype=object)
        names = pd.DataFrame(
            {
                "uid": catalog.columns.uid,
                "name": catalog.columns.name,
                "title": catalog.columns.title,
            }
        )
        return rows, names

    def day_files(
        self, day: dt.date, creators: Document, raw: RawInputs, start_date: dt.date
    ) -> dict[str, object]:
        """The day's creator files (`creator_days`), the videos document they were cut from
        (`creator_videos`, checked like `videos-with-posts`) and the key check."""
        started = time.perf_counter()
        rows, names = self.uid_rows(day)
        videos = report.videos_with_posts(day, rows, uid_metadata(rows["uid"], names))
        last7 = windows.rolling_creators(
            day, raw.rows["raw_creator_minutes"], start_date=start_date
        )
        built = creator_day_files(day, creators, last7, videos)
        files, keys_check = keyed_files(built.files, "creator_days", day.isoformat(), self.secret)
        if built.videos_without_file:
            keys_check.metadata["videos of creators without a file"] = built.videos_without_file
            keys_check.metadata["their minutes"] = built.minutes_without_file
        files = dataclasses.replace(files, seconds=time.perf_counter() - started)
        return {"creator_days": files, "creator_videos": videos, "creator_keys": keys_check}


def week_files(
    weekly_creators: Document, monday: dt.date, secret: bytes | None
) -> tuple[FileSet, CheckResult]:
    """The week's creator files (`creator_weeks`) and the key check."""
    return keyed_files(
        creator_week_files(weekly_creators), "creator_weeks", monday.isoformat(), secret
    )


def file_set_metadata(files: FileSet) -> dict[str, object]:
    """A set's page: how many files, and how large (the uploader's page reads one)."""
    sizes = np.array([len(b) for b in files.files.values()] or [0])
    return {
        "creators": len(files.files),
        "build seconds": round(files.seconds, 3),
        "p99 bytes": int(np.percentile(sizes, 99)),
        "max bytes": int(sizes.max()),
    }
