"""The shared video-metadata cache (contract §6): the Stream catalogue as one columnar frame.

Kept in storage at `stream-stats/cache/video-catalog.json` as columns
(`{"schemaVersion":1, "catalogueCursor":..., "columns": {"uid": [...], ...}}`) and held in
memory as a pandas DataFrame indexed by uid, with categorical columns for the values that
repeat (creator, title, state): 100k videos are a few tens of MB instead of 100k dicts.

Only videos not yet known are fetched. A cold cache (many unknown videos) is warmed through
the list endpoint, 1,000 videos a call, starting after the newest `created` seen so far: an
incremental catalogue, not a full listing on every run. A 404 is cached too: a deleted video
stays deleted. Saving is a conditional put (If-Match on the ETag read, If-None-Match when
the key is new), so two runs that add different videos merge instead of overwriting each
other.

The first run after the change reads the old `stream-stats/cache/video-metadata.json` (one
dict per video) once and writes its entries here. Those entries lack what the cost reports
need (`duration`, `size`, `status.state`, `readyToStreamAt`, `scheduledDeletion`); the
catalogue refresh (`refresh_catalogue`) lists the catalogue from the start once to fill
them, and again weekly, because paging by creation time never sees deletions or state
changes.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import jsonbytes
from .dates import stream_times
from .facts import SCHEMA_VERSION, VideoMetadata
from .keys import LEGACY_METADATA_CACHE_KEY, METADATA_CACHE_KEY
from .progress import notice
from .storage.base import ObjectStore, PreconditionFailed
from .storage.memo import ParsedFiles

WARM_THRESHOLD = 200  # more unknown videos than this: list the catalogue instead of 1 call each
SAVE_ATTEMPTS = 5
FULL_LISTING_EVERY = dt.timedelta(days=7)  # relist from the start: deletions, state changes
RECHECK_LIMIT = 300  # known videos missing from a full listing, asked for one by one
# The catalogue as last read or written by this process (each raw step of a range reads it).
CATALOGUES = ParsedFiles(capacity=2)

OLD_COLUMNS = ["uid", "found", "creator", "name", "title", "created"]
DETAIL_COLUMNS = ["duration", "size", "state", "readyToStreamAt", "scheduledDeletion"]
COLUMNS = [*OLD_COLUMNS, *DETAIL_COLUMNS]
# VideoMetadata attribute -> column (the only rename: status.state)
_DETAIL_ATTRIBUTES = {"duration": "duration", "size": "size", "state": "state"}

# In-memory dtypes (uid is the index). Repeating strings are categorical; file names stay
# Python strings; NaN/<NA>/NaT means "not known". Timestamps are datetime64 when every value
# is in Stream's own format (so they print back to the same text), else their strings.
CATEGORIES = ["creator", "title", "state", "scheduledDeletion"]
TIMES = ["created", "readyToStreamAt"]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # "2025-01-02T03:04:05.123456Z"
DTYPES: dict[str, Any] = {
    "found": "bool",
    **dict.fromkeys(CATEGORIES, "category"),
    "name": "object",
    "duration": "float64",  # seconds; -1 is Cloudflare's "unknown"
    "size": "Int64",
}


class MetadataSource(Protocol):
    def get_videos(self, uids: Sequence[str]) -> dict[str, VideoMetadata]: ...
    def list_videos(self, *, created_after: str | None = None): ...
    def count_videos(self) -> int | None: ...


class CacheColumns(BaseModel):
    """The stored columns, one list per field, all as long as `uid`."""

    model_config = ConfigDict(extra="ignore")

    uid: list[str] = Field(default_factory=list)
    found: list[bool] = Field(default_factory=list)
    creator: list[str | None] = Field(default_factory=list)
    name: list[str | None] = Field(default_factory=list)
    title: list[str | None] = Field(default_factory=list)
    created: list[str | None] = Field(default_factory=list)
    duration: list[float | None] = Field(default_factory=list)
    size: list[int | None] = Field(default_factory=list)
    state: list[str | None] = Field(default_factory=list)
    readyToStreamAt: list[str | None] = Field(default_factory=list)
    scheduledDeletion: list[str | None] = Field(default_factory=list)

    @model_validator(mode="after")
    def _same_length(self) -> CacheColumns:
        lengths = {name: len(getattr(self, name)) for name in COLUMNS}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"cache columns differ in length: {lengths}")
        return self


class CacheHeader(BaseModel):
    """The stored cache's fields before its columns."""

    model_config = ConfigDict(extra="ignore")

    schemaVersion: int = SCHEMA_VERSION
    catalogueCursor: str | None = None  # newest `created` listed so far
    fullListingAt: str | None = None  # when the catalogue was last listed from the start (UTC)


class CacheDocument(CacheHeader):
    """The stored cache (`stream-stats/cache/video-catalog.json`)."""

    columns: CacheColumns = Field(default_factory=CacheColumns)


class LegacyCacheDocument(BaseModel):
    """The old shape at `stream-stats/cache/video-metadata.json`: one dict per video."""

    model_config = ConfigDict(extra="ignore")

    schemaVersion: int = SCHEMA_VERSION
    catalogueCursor: str | None = None
    videos: dict[str, dict] = Field(default_factory=dict)


class CacheStats(BaseModel):
    requested: int = 0
    hits: int = 0
    listed: int = 0
    fetched: int = 0
    not_found: int = 0
    marked_deleted: int = 0  # found before, absent from a full listing
    full_listing: bool = False
    migrated: bool = False  # the old per-video cache was read and converted in this call
    healed: str | None = None  # why the stored cache was rebuilt from the list endpoint


class _State:
    """What one load gave: the frame, the document's scalars and what to write back."""

    def __init__(
        self,
        frame: pd.DataFrame,
        etag: str | None,
        cursor: str | None = None,
        full_listing_at: str | None = None,
        migrated: bool = False,
        broken: str | None = None,
    ) -> None:
        self.frame, self.etag = frame, etag
        self.cursor, self.full_listing_at, self.migrated = cursor, full_listing_at, migrated
        self.broken = broken  # the stored cache did not parse: why (it is rebuilt)


def _times(values: Sequence[Any]) -> pd.Series:
    """Timestamps as datetime64 if that loses nothing of their text (Stream's own format:
    `dates.stream_times`), else the text."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.DatetimeTZDtype):
        return values
    parsed = stream_times(values) if len(values) else None
    if parsed is None:
        return pd.Series(np.asarray(values, dtype=object), dtype=object)
    return pd.Series(parsed).dt.tz_localize("UTC")


def time_text(series: pd.Series) -> list[str | None]:
    """A timestamp column back to Cloudflare's text (None where unknown)."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        naive = series.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        text = np.char.add(np.datetime_as_string(naive, unit="us"), "Z").astype(object)
        text[np.isnat(naive)] = None
        return text.tolist()
    text = series.map(lambda v: v.strftime(TIME_FORMAT) if isinstance(v, pd.Timestamp) else v)
    return text.astype(object).where(series.notna(), None).tolist()


def empty_frame() -> pd.DataFrame:
    return frame_from_columns({name: [] for name in COLUMNS})


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(DTYPES)
    for name in TIMES:
        if not isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            frame[name] = _times(time_text(frame[name])).array
    frame.index = frame.index.astype(object).rename("uid")
    return frame


def _column(name: str, values: Sequence[Any]) -> Any:
    """One stored column in its in-memory form (see `DTYPES`)."""
    if name in TIMES:  # the array itself: `to_numpy()` would box 100k Timestamps
        return _times(values).array
    if name in CATEGORIES:
        return pd.Categorical(values)
    if name == "found":
        return np.array(values, dtype=bool)
    if name in ("uid", "name"):
        return np.array(values, dtype=object)
    return pd.array(values, dtype=DTYPES[name].capitalize())


def frame_from_columns(data: dict[str, list]) -> pd.DataFrame:
    """The cache frame from stored columns. Each list is taken out of `data` as soon as it
    is converted, so a 100k-row load never holds two copies of every column."""
    index = pd.Index(data.pop("uid"), dtype=object, name="uid")
    frame = pd.DataFrame(index=index)
    for name in COLUMNS[1:]:
        frame[name] = _column(name, data.pop(name))
    return frame.astype(DTYPES)


def frame_from_videos(videos: Iterable[Any]) -> pd.DataFrame:
    """Rows of `VideoMetadata`-like objects (the detail fields are read when present)."""
    rows: dict[str, list] = {name: [] for name in COLUMNS}
    for v in videos:
        for name in OLD_COLUMNS:
            rows[name].append(getattr(v, name))
        for name in DETAIL_COLUMNS:
            rows[name].append(getattr(v, _DETAIL_ATTRIBUTES.get(name, name), None))
    frame = frame_from_columns(rows)
    return frame[~frame.index.duplicated(keep="last")]


def _values(series: pd.Series) -> list:
    """JSON-ready values of a column: NA as None, numpy scalars as Python ones."""
    if series.name in TIMES:
        return time_text(series)
    values = series.astype(object)
    return values.where(series.notna(), None).tolist()


def _stack(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Rows of both frames (typed again by the caller): column by column as objects, so
    that categories and all-NA columns need no agreement between the two."""

    def column(frame: pd.DataFrame, name: str) -> np.ndarray:
        if name in TIMES:  # as text: a datetime column and a text one stack as text
            return np.array(time_text(frame[name]), dtype=object)
        return frame[name].to_numpy(object)

    return pd.DataFrame(
        {name: np.concatenate([column(first, name), column(second, name)]) for name in COLUMNS[1:]},
        index=pd.Index([*first.index, *second.index], dtype=object, name="uid"),
    )


def _changed(known: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The rows of `new` that are not already in `known` exactly as they are."""
    same_uid = new.index.isin(known.index)
    if not same_uid.any():
        return new
    ours, theirs = text_frame(new[same_uid]), text_frame(known.loc[new.index[same_uid]])
    equal = (ours.astype(str) == theirs.astype(str)).all(axis=1).to_numpy()
    keep = np.ones(len(new), dtype=bool)
    keep[np.flatnonzero(same_uid)[equal]] = False
    return new[keep]


def frame_to_document(
    frame: pd.DataFrame, cursor: str | None, full_listing_at: str | None
) -> CacheDocument:
    columns = {"uid": frame.index.tolist()}
    columns.update({name: _values(frame[name]) for name in COLUMNS[1:]})
    return CacheDocument(
        catalogueCursor=cursor,
        fullListingAt=full_listing_at,
        columns=CacheColumns.model_construct(**columns),
    )


def text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the cache with `COLUMNS` (uid first) and timestamps as Cloudflare's text."""
    out = frame.copy()
    for name in TIMES:
        out[name] = np.array(time_text(frame[name]), dtype=object)
    out.index.name = "uid"
    return out.reset_index()[COLUMNS]


def _parse(body: bytes) -> tuple[pd.DataFrame, str | None, str | None]:
    """The stored catalogue: its frame, cursor and last full listing. Validated whole by
    pydantic, which shares repeated strings while it parses (reading column by column with
    `json` measured 104 MiB at its peak for 100k videos, this 82 MiB)."""
    doc = CacheDocument.model_validate_json(body)
    columns = vars(doc.columns)  # the validated lists, converted one by one
    return frame_from_columns(columns), doc.catalogueCursor, doc.fullListingAt


def catalogue_bytes(frame: pd.DataFrame, cursor: str | None, full_listing_at: str | None) -> bytes:
    """The stored catalogue, written column by column: the bytes of
    `jsonbytes.dumps(frame_to_document(...))`, but each column's values exist as Python
    objects only while that column is written (the model's dump of 100k videos peaked
    ~50 MiB higher)."""
    header = CacheHeader(catalogueCursor=cursor, fullListingAt=full_listing_at)
    fields = [
        f"{jsonbytes.text(k)}:{jsonbytes.text(v)}"
        for k, v in header.model_dump(mode="json").items()
    ]
    parts = [("{" + ",".join(fields) + ',"columns":{').encode()]
    for n, name in enumerate(COLUMNS):
        values = frame.index.tolist() if name == "uid" else _values(frame[name])
        parts.append(f"{',' if n else ''}{jsonbytes.text(name)}:{jsonbytes.text(values)}".encode())
        del values
    parts.append(b"}}\n")
    return b"".join(parts)


def _why(exc: Exception) -> str:
    """The first problem of a parse or validation error, in one line."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        return f"{where}: {first['msg']}"
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _newest(*values: str | None) -> str | None:
    return max(filter(None, values), default=None)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MetadataCache:
    def __init__(
        self,
        store: ObjectStore,
        bucket: str,
        *,
        warm_threshold: int = WARM_THRESHOLD,
        clock: Callable[[], dt.datetime] = _utc_now,
    ):
        self.store, self.bucket, self.warm_threshold = store, bucket, warm_threshold
        self.clock = clock

    # ---------------------------------------------------------------- storage

    def _load(self) -> _State:
        try:
            found = CATALOGUES.read(self.store, self.bucket, METADATA_CACHE_KEY, _parse)
        except (ValidationError, ValueError) as exc:
            # A cache that does not parse (cut, empty, garbage, columns of unequal length)
            # is a cold one: rebuilt from the list endpoint, and replaced only if it is
            # still the same bad object (If-Match on its ETag).
            etag = self.store.head(self.bucket, METADATA_CACHE_KEY)
            return _State(empty_frame(), etag, broken=_why(exc))
        if found is not None:
            etag, (frame, cursor, full_listing_at) = found
            return _State(frame, etag, cursor, full_listing_at)
        legacy = self.store.get(self.bucket, LEGACY_METADATA_CACHE_KEY)
        if legacy is None:
            return _State(empty_frame(), None)
        # Migrate: the old entries, without the detail fields. The cursor starts again from
        # the beginning so that the next listing fills them in (the one-time relist).
        old = LegacyCacheDocument.model_validate_json(legacy.body)
        rows = {name: [] for name in COLUMNS}
        for uid, entry in old.videos.items():
            rows["uid"].append(uid)
            for name in OLD_COLUMNS[1:]:
                rows[name].append(entry.get(name))
            for name in DETAIL_COLUMNS:
                rows[name].append(None)
        return _State(frame_from_columns(rows), None, None, None, migrated=True)

    @staticmethod
    def _list(source: MetadataSource, cursor: str | None) -> tuple[list[Any], str | None]:
        """Every video the list endpoint gives from `cursor` (None: from the start), and the
        newest `created` seen."""
        listed: list[Any] = []
        for page in source.list_videos(created_after=cursor):
            listed.extend(page)
            cursor = _newest(cursor, *(v.created for v in page))
        return listed, cursor

    def _healing(self, why: str, *, short: bool = False) -> str:
        """The one line that says the cache is rebuilt, and why."""
        what = "is short" if short else "is not a valid catalogue"
        line = (
            f"{self.bucket}/{METADATA_CACHE_KEY} {what} ({why}): rebuilding it from the "
            "Stream list endpoint (about one call per 1,000 videos)"
        )
        notice(line)
        return line

    def load_frame(self) -> pd.DataFrame:
        """The whole cache as it is stored (migrated in memory if only the old file exists)."""
        return self._load().frame

    def _save(
        self,
        state: _State,
        new: pd.DataFrame,
        *,
        cursor: str | None,
        full_listing_at: str | None = None,
    ) -> pd.DataFrame:
        """Merge `new` rows onto the stored cache, conditionally."""
        for attempt in range(SAVE_ATTEMPTS):
            merged = state.frame
            if len(new):
                merged = _stack(merged.drop(new.index, errors="ignore"), new)
            merged = _typed(merged).sort_index()
            newest_cursor = _newest(state.cursor, cursor)
            full_at = _newest(state.full_listing_at, full_listing_at)
            try:
                put = self.store.put(
                    self.bucket,
                    METADATA_CACHE_KEY,
                    catalogue_bytes(merged, newest_cursor, full_at),
                    cache_control="private, max-age=0",
                    if_match=state.etag,
                    if_none_match=state.etag is None,
                )
                parsed = (merged, newest_cursor, full_at)
                CATALOGUES.remember(self.store, self.bucket, METADATA_CACHE_KEY, put.etag, parsed)
                return merged
            except PreconditionFailed:
                # Another run saved first: merge onto its version (jittered, as update_object).
                time.sleep(random.uniform(0, 0.01 * (2**attempt)))
                state = self._load()
        raise PreconditionFailed(
            f"could not save {METADATA_CACHE_KEY}: it kept changing under {SAVE_ATTEMPTS} attempts"
        )

    # ---------------------------------------------------------------- lookups

    def resolve_frame(
        self, source: MetadataSource, uids: Sequence[str]
    ) -> tuple[pd.DataFrame, CacheStats]:
        """One row per distinct uid, in first-appearance order, with `COLUMNS` (404s as
        `found=False`; NA where Cloudflare's answer lacked a field), fetching only unknown
        videos."""
        state = self._load()
        distinct = list(dict.fromkeys(uids))
        stats = CacheStats(requested=len(uids), migrated=state.migrated)
        if state.broken:
            stats.healed = self._healing(state.broken)
        known = state.frame.index
        unknown = [u for u in distinct if u not in known]
        stats.hits = len(uids) - len(unknown)
        listed: list[Any] = []
        cursor = state.cursor
        if len(unknown) > self.warm_threshold or state.broken:
            for page in source.list_videos(created_after=cursor):
                listed.extend(page)
                cursor = _newest(cursor, *(v.created for v in page))
            stats.listed = len(listed)
            seen = {v.uid for v in listed}
            unknown = [u for u in unknown if u not in seen]
        fetched: dict[str, Any] = source.get_videos(unknown) if unknown else {}
        stats.fetched = len(fetched)
        stats.not_found = sum(not v.found for v in fetched.values())
        frame = state.frame
        if listed or fetched or cursor != state.cursor or state.migrated or state.broken:
            new = frame_from_videos([*listed, *fetched.values()])
            frame = self._save(state, new, cursor=cursor)
        return text_frame(frame.reindex(distinct)), stats

    def resolve(
        self, source: MetadataSource, uids: Sequence[str]
    ) -> tuple[dict[str, VideoMetadata], CacheStats]:
        """`resolve_frame` as the old per-uid models (the six snapshot fields only, so the
        raw `video-metadata` files keep their bytes)."""
        frame, stats = self.resolve_frame(source, uids)
        records = frame[OLD_COLUMNS].astype(object).where(frame[OLD_COLUMNS].notna(), None)
        return {row["uid"]: VideoMetadata(**row) for row in records.to_dict("records")}, stats

    # ---------------------------------------------------------------- catalogue

    def refresh_catalogue(self, source: MetadataSource) -> tuple[pd.DataFrame, CacheStats]:
        """The whole catalogue, brought up to date through the list endpoint.

        Incremental (from the cursor) on most days; from the start when the cache has never
        been listed completely (a cache migrated from the old file, whose entries lack the
        detail fields) or its last full listing is `FULL_LISTING_EVERY` old. Known videos a
        full listing no longer shows are asked for one by one (at most `RECHECK_LIMIT` a
        refresh): a 404 marks them deleted (`found=False`); anything else updates them."""
        state = self._load()
        now = self.clock()
        last_full = (
            dt.datetime.fromisoformat(state.full_listing_at) if state.full_listing_at else None
        )
        full = last_full is None or now - last_full >= FULL_LISTING_EVERY
        healed = self._healing(state.broken) if state.broken else None
        # Counted before listing, so videos added in between can only raise what is known.
        total = source.count_videos() if not full else None
        listed, cursor = self._list(source, None if full else state.cursor)
        if total is not None:
            # A cache that parses but has lost rows would price a short catalogue: what it
            # knows after this listing must be all Stream holds, else it is listed whole.
            found = state.frame.index[state.frame["found"].to_numpy()]
            known = len(found.union(pd.Index([v.uid for v in listed])))
            if known < total:
                healed = self._healing(
                    f"it knows {known:,} videos, Stream holds {total:,}", short=True
                )
                full = True
                listed, cursor = self._list(source, None)
        stats = CacheStats(migrated=state.migrated, full_listing=full, healed=healed)
        stats.listed = len(listed)
        rechecked: dict[str, Any] = {}
        if full:  # gone from the list: deleted, or a state the list leaves out? Ask.
            found = state.frame.index[state.frame["found"].to_numpy()]
            absent = found.difference(pd.Index([v.uid for v in listed])).tolist()
            rechecked = source.get_videos(absent[:RECHECK_LIMIT]) if absent else {}
            stats.fetched = len(rechecked)
            stats.marked_deleted = sum(not v.found for v in rechecked.values())
        new = frame_from_videos([*listed, *rechecked.values()])
        stamp = now.astimezone(dt.UTC).isoformat() if full else None
        new = _changed(state.frame, new)  # a listing repeats what is known (its overlap)
        if len(new) or full or cursor != state.cursor or state.migrated:
            frame = self._save(state, new, cursor=cursor, full_listing_at=stamp)
        else:
            frame = state.frame
        return frame, stats
