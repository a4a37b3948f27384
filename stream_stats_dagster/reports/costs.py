"""What Stream costs, and which videos no one watches (issue 14): pure pandas, no Dagster.

Inputs are frames: the day's catalogue snapshot (every video in Stream when the day ended,
from the metadata cache's list-endpoint catalogue), the day's minutes per creator (the raw
`creator-minutes` extract, GraphQL's `creator`), and the minutes per uid of the last
`WINDOW_DAYS` days (the raw `uid-minutes` extracts, one per day).

Money is integer micro-units of the configured currency, so the files are byte-stable and
"adds up" is exact: each creator's cost is rounded once (half up), and the platform's cost is
the sum of its creators' costs. Storage is priced on exact durations (milliseconds); a video
whose duration Stream does not know (-1, or still processing) is counted as `videosUnpriced`
and never priced as zero.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..dates import stream_times
from .rules import NULL_KEY

SCHEMA_VERSION = 1
WINDOW_DAYS = 30  # "the last 30 days": the report day and the 29 before it
DEFAULT_COLD_AFTER_DAYS = 30
MICROS = 1_000_000
MS_PER_MINUTE = 60_000

CATALOG_COLUMNS = [
    "uid",
    "creator",
    "name",
    "title",
    "created",
    "duration",
    "size",
    "state",
    "readyToStreamAt",
    "scheduledDeletion",
]


# ------------------------------------------------------------------------- configuration


class Prices(BaseModel):
    """Stream's prices in micro-units of `currency` (defaults: $5 per 1,000 minutes stored
    per month, $1 per 1,000 minutes delivered)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: str = "USD"
    storagePer1000MinutesPerMonthMicros: int = Field(default=5 * MICROS, ge=0)
    deliveryPer1000MinutesMicros: int = Field(default=1 * MICROS, ge=0)


# ------------------------------------------------------------------------- document shapes


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schemaVersion: int = SCHEMA_VERSION


def _same_lengths(columns: BaseModel) -> None:
    lengths = {len(v) for v in columns.__dict__.values() if v is not None}
    if len(lengths) > 1:
        raise ValueError(f"columns differ in length: {sorted(lengths)}")


class UidMinutesColumns(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uid: list[str]
    # each row's GraphQL creator (each creator's files); absent in files stored before them
    creator: list[str | None] | None = None
    minutesViewed: list[int]
    viewCount: list[int]

    @model_validator(mode="after")
    def _check(self) -> UidMinutesColumns:
        _same_lengths(self)
        return self


class UidMinutesDoc(_Doc):
    """`uid-minutes`: minutes and views of every video with views on the day (complete,
    keyset-paged by uid), ascending by uid. Stored as columns: ~50k rows a day."""

    date: str
    columns: UidMinutesColumns


class CatalogColumns(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uid: list[str]
    creator: list[str | None]
    name: list[str | None]
    title: list[str | None]
    created: list[str | None]
    duration: list[float | None]
    size: list[int | None]
    state: list[str | None]
    readyToStreamAt: list[str | None]
    scheduledDeletion: list[str | None]

    @model_validator(mode="after")
    def _check(self) -> CatalogColumns:
        _same_lengths(self)
        return self


class VideoCatalogDoc(_Doc):
    """`video-catalog`: every video in Stream when the report day ended (created before its
    end, not deleted), ascending by uid, as columns."""

    date: str
    videoCount: int
    columns: CatalogColumns


class CostLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutesDelivered: int
    deliveryCostMicros: int
    videosStored: int
    videosUnpriced: int  # duration unknown (-1 or processing): not in minutesStored
    minutesStored: float
    storageCostPerMonthMicros: int


class CreatorCosts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    creator: str
    minutesDelivered: int
    deliveryCostMicros: int
    videosStored: int
    videosUnpriced: int
    minutesStored: float
    storageCostPerMonthMicros: int


class StreamCostsDoc(_Doc):
    date: str
    currency: str
    prices: Prices
    platform: CostLine
    creators: list[CreatorCosts]


class ColdVideo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uid: str
    fileName: str | None
    title: str | None
    duration: float | None  # seconds; -1 when Stream does not know it
    created: str | None
    readyToStreamAt: str | None
    lastViewedDate: str | None  # newest stored day with minutes; null if none is stored
    minutesStored: float | None  # null when the duration is unknown
    monthlySavingMicros: int | None  # the storage cost per month it leaves behind


class ColdCreator(BaseModel):
    model_config = ConfigDict(extra="forbid")

    creator: str
    videoCount: int
    videosUnpriced: int
    minutesStored: float
    monthlySavingMicros: int
    videos: list[ColdVideo]


class ColdTotals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    videoCount: int
    videosUnpriced: int
    minutesStored: float
    monthlySavingMicros: int


class ColdVideosDoc(_Doc):
    date: str
    currency: str
    coldAfterDays: int
    windowStart: str  # first day of the minutes window (clipped at the start date)
    windowEnd: str
    windowDaysStored: int
    totals: ColdTotals
    creators: list[ColdCreator]


# ------------------------------------------------------------------------- helpers


def _plain(series: pd.Series) -> list:
    """JSON-ready values (NA as None, numpy scalars as Python ones)."""
    return series.astype(object).where(series.notna(), None).tolist()


def _round_div(numerator: pd.Series | int, denominator: int):
    """numerator / denominator rounded half up, in integers (numerator >= 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def stored_ms(duration: pd.Series) -> pd.Series:
    """Milliseconds stored per video; <NA> when the duration is unknown (NaN or negative)."""
    d = pd.to_numeric(duration, errors="coerce").astype("float64")
    ms = np.round(d * 1000)
    known = pd.array(np.where(d >= 0, ms, np.nan), dtype="Float64").astype("Int64")
    return pd.Series(known, index=duration.index)


def storage_micros(ms: pd.Series | int, prices: Prices):
    """Storage cost per month of `ms` milliseconds (rounded half up)."""
    return _round_div(ms * prices.storagePer1000MinutesPerMonthMicros, 1000 * MS_PER_MINUTE)


def delivery_micros(minutes: pd.Series | int, prices: Prices):
    return _round_div(minutes * prices.deliveryPer1000MinutesMicros, 1000)


def _minutes(ms: int) -> float:
    return round(ms / MS_PER_MINUTE, 3)


def _utc(text: pd.Series) -> pd.Series:
    """RFC 3339 text to UTC timestamps (NaT where missing). Stream's own format
    ("2025-01-02T03:04:05.123456Z") is parsed by numpy, ~10x faster than pandas' parsers;
    anything else goes through the general ISO 8601 parser."""
    parsed = stream_times(text.to_numpy(dtype=object))
    if parsed is not None:
        return pd.Series(parsed, index=text.index).dt.tz_localize("UTC")
    return pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")


def cost_window_days(day: dt.date, start_date: dt.date | None = None) -> list[dt.date]:
    """The 30 days of the minutes window ending on `day`, clipped at `start_date`."""
    first = day - dt.timedelta(days=WINDOW_DAYS - 1)
    if start_date is not None:
        first = max(first, start_date)
    return [first + dt.timedelta(days=i) for i in range((day - first).days + 1)]


# ------------------------------------------------------------------------- extracts


def uid_minutes_doc(date: str, rows: pd.DataFrame) -> UidMinutesDoc:
    """The day's per-uid rows (columns uid, creator, minutesViewed, viewCount), ascending by
    uid, then creator (a video whose creator changed during the day has a row for each)."""
    if "creator" not in rows:  # a test's or an older caller's rows
        rows = rows.assign(creator=None)
    rows = rows.sort_values(["uid", "creator"], kind="stable", na_position="first")
    creators = rows["creator"].astype(object)
    return UidMinutesDoc(
        date=date,
        columns=UidMinutesColumns.model_construct(
            uid=rows["uid"].tolist(),
            creator=creators.where(creators.notna(), None).tolist(),
            minutesViewed=rows["minutesViewed"].astype("int64").tolist(),
            viewCount=rows["viewCount"].astype("int64").tolist(),
        ),
    )


def uid_minutes_frame(doc: UidMinutesDoc) -> pd.DataFrame:
    """The day's rows as a frame. Uids are interned: a 30-day window holds the same ~50k
    uids thirty times over, and one string each is ~100 MB less at the seed's scale."""
    c = doc.columns
    return pd.DataFrame(
        {
            "uid": np.array([sys.intern(u) for u in c.uid], dtype=object),
            "minutesViewed": np.array(c.minutesViewed, dtype=np.int64),
            "viewCount": np.array(c.viewCount, dtype=np.int64),
        }
    )


def catalog_snapshot(videos: pd.DataFrame, day_end_utc: dt.datetime) -> pd.DataFrame:
    """The catalogue as it stood at the end of the day: found videos created before
    `day_end_utc` (videos without a `created` time are kept), by uid, `CATALOG_COLUMNS`.
    `videos` has the cache's columns with timestamps as text."""
    found = videos[videos["found"].astype(bool)]
    created = _utc(found["created"])
    keep = created.isna() | (created < pd.Timestamp(day_end_utc))
    snapshot = found.loc[keep, CATALOG_COLUMNS].sort_values("uid", kind="stable")
    return snapshot.reset_index(drop=True)


def catalog_doc(date: str, snapshot: pd.DataFrame) -> VideoCatalogDoc:
    columns = {name: _plain(snapshot[name]) for name in CATALOG_COLUMNS}
    columns["size"] = [None if v is None else int(v) for v in columns["size"]]
    columns["duration"] = [None if v is None else float(v) for v in columns["duration"]]
    return VideoCatalogDoc(
        date=date,
        videoCount=len(snapshot),
        columns=CatalogColumns.model_construct(**columns),
    )


def catalog_frame(doc: VideoCatalogDoc) -> pd.DataFrame:
    c = doc.columns
    frame = pd.DataFrame(
        {name: pd.array(getattr(c, name), dtype=object) for name in CATALOG_COLUMNS}
    )
    frame["duration"] = pd.to_numeric(frame["duration"]).astype("float64")
    frame["size"] = pd.array(c.size, dtype="Int64")
    for name in ("creator", "state"):
        frame[name] = frame[name].astype("category")
    return frame


# ------------------------------------------------------------------------- stream costs


def stream_costs(
    date: str, catalog: pd.DataFrame, creator_minutes: pd.DataFrame, prices: Prices
) -> StreamCostsDoc:
    """Minutes delivered on the day and their cost, minutes stored and their cost per
    month, for the platform and per creator (`__null__` for none). Delivered minutes are
    GraphQL's per creator; storage follows the REST `creator` of each video."""
    delivered = (
        creator_minutes.assign(creator=creator_minutes["creator"].replace("", NULL_KEY))
        .groupby("creator", sort=True)["minutesViewed"]
        .sum()
        .astype("int64")
    )
    ms = stored_ms(catalog["duration"])
    stored = pd.DataFrame(
        {
            "creator": catalog["creator"].astype(object).where(catalog["creator"].notna(), None),
            "ms": ms.fillna(0).astype("int64"),
            "unpriced": ms.isna().to_numpy(),
        }
    )
    stored["creator"] = stored["creator"].fillna(NULL_KEY).replace("", NULL_KEY)
    per = stored.groupby("creator", sort=True).agg(
        videosStored=("ms", "size"), ms=("ms", "sum"), videosUnpriced=("unpriced", "sum")
    )
    table = per.join(delivered.rename("minutesDelivered"), how="outer").fillna(0)
    table = table.astype("int64")
    table["deliveryCostMicros"] = delivery_micros(table["minutesDelivered"], prices)
    table["storageCostPerMonthMicros"] = storage_micros(table["ms"], prices)
    table = table.reset_index(names="creator")
    table = table.sort_values(
        ["storageCostPerMonthMicros", "deliveryCostMicros", "creator"],
        ascending=[False, False, True],
        kind="stable",
    )
    creators = [
        CreatorCosts(
            creator=row.creator,
            minutesDelivered=int(row.minutesDelivered),
            deliveryCostMicros=int(row.deliveryCostMicros),
            videosStored=int(row.videosStored),
            videosUnpriced=int(row.videosUnpriced),
            minutesStored=_minutes(int(row.ms)),
            storageCostPerMonthMicros=int(row.storageCostPerMonthMicros),
        )
        for row in table.itertuples(index=False)
    ]
    platform = CostLine(
        minutesDelivered=int(table["minutesDelivered"].sum()),
        deliveryCostMicros=int(table["deliveryCostMicros"].sum()),
        videosStored=int(table["videosStored"].sum()),
        videosUnpriced=int(table["videosUnpriced"].sum()),
        minutesStored=_minutes(int(table["ms"].sum())),
        storageCostPerMonthMicros=int(table["storageCostPerMonthMicros"].sum()),
    )
    return StreamCostsDoc(
        date=date, currency=prices.currency, prices=prices, platform=platform, creators=creators
    )


# ------------------------------------------------------------------------- cold videos


def watched_uids(window: Mapping[str, pd.DataFrame]) -> set[str]:
    """Every uid with minutes on some day of the window."""
    seen: set[str] = set()
    for frame in window.values():
        seen.update(frame.loc[frame["minutesViewed"] > 0, "uid"])
    return seen


def cold_candidates(
    catalog: pd.DataFrame,
    watched: Iterable[str],
    day_end_utc: dt.datetime,
    cold_after_days: int = DEFAULT_COLD_AFTER_DAYS,
) -> pd.DataFrame:
    """Ready videos, ready (else created) at least `cold_after_days` before the day ended,
    with no minutes in the window: the rows of `catalog` that are cold."""
    ready_at = _utc(catalog["readyToStreamAt"]).fillna(_utc(catalog["created"]))
    old_enough = ready_at <= pd.Timestamp(day_end_utc) - pd.Timedelta(days=cold_after_days)
    ready = catalog["state"].astype(object) == "ready"
    unwatched = ~catalog["uid"].isin(set(watched))
    return catalog[ready & old_enough.fillna(False) & unwatched]


def last_viewed(
    uids: Iterable[str], older_days: Iterable[tuple[str, pd.DataFrame]]
) -> dict[str, str]:
    """The newest day on which each uid had minutes, from stored days newest first; uids
    not found stay out (no stored day has them)."""
    left = set(uids)
    out: dict[str, str] = {}
    for day, frame in older_days:
        if not left:
            break
        hit = set(frame.loc[frame["minutesViewed"] > 0, "uid"]) & left
        out.update(dict.fromkeys(hit, day))
        left -= hit
    return out


LAST_VIEW_LOOKBACK_DAYS = 90  # stored days read before a window for `lastViewedDate`


def last_viewed_by_day(
    cold: Mapping[str, tuple[dt.date, Iterable[str]]],
    read_day: Callable[[dt.date], pd.DataFrame | None],
    *,
    floor: dt.date | None = None,
    lookback_days: int = LAST_VIEW_LOOKBACK_DAYS,
) -> dict[str, dict[str, str]]:
    """For each report day (`key -> (window start, cold uids)`), the newest stored day
    before its window on which each cold uid had minutes, looking back `lookback_days`
    (not before `floor`). One pass over the stored days, newest first, shared by all report
    days of a run: each stored day is read once and dropped."""
    remaining = {k: set(uids) for k, (_, uids) in cold.items()}
    found: dict[str, dict[str, str]] = {k: {} for k in cold}
    if not cold:
        return found
    newest = max(start for start, _ in cold.values()) - dt.timedelta(days=1)
    oldest = min(start for start, _ in cold.values()) - dt.timedelta(days=lookback_days)
    if floor is not None:
        oldest = max(oldest, floor)
    day = newest
    while day >= oldest and any(remaining.values()):
        active = [
            k
            for k, (start, _) in cold.items()
            if remaining[k] and start - dt.timedelta(days=lookback_days) <= day < start
        ]
        frame = read_day(day) if active else None
        if frame is not None:
            watched = set(frame.loc[frame["minutesViewed"] > 0, "uid"])
            for k in active:
                hit = remaining[k] & watched
                found[k].update(dict.fromkeys(hit, day.isoformat()))
                remaining[k] -= hit
        day -= dt.timedelta(days=1)
    return found


def cold_videos(
    date: str,
    cold: pd.DataFrame,
    last_views: Mapping[str, str],
    prices: Prices,
    *,
    window: list[dt.date],
    window_days_stored: int,
    cold_after_days: int = DEFAULT_COLD_AFTER_DAYS,
) -> ColdVideosDoc:
    """The cold videos grouped by creator (largest saving first), each with its monthly
    storage saving if it left Stream; videos with an unknown duration are listed and
    counted (`videosUnpriced`) with a null saving."""
    ms = stored_ms(cold["duration"])
    rows = pd.DataFrame(
        {
            "uid": cold["uid"].astype(object).to_numpy(),
            "creator": cold["creator"].astype(object).to_numpy(),
            "ms": ms.to_numpy(dtype="float64", na_value=np.nan),
        }
    )
    rows["creator"] = rows["creator"].where(rows["creator"].notna(), NULL_KEY).replace("", NULL_KEY)
    known = rows["ms"].notna()
    priced_ms = rows["ms"].fillna(0).astype("int64")
    rows["saving"] = np.where(known, storage_micros(priced_ms, prices), -1)
    rows["priced_ms"] = priced_ms
    rows["unpriced"] = ~known
    rows["priced_saving"] = np.where(known, rows["saving"], 0)
    per = rows.groupby("creator", sort=False).agg(
        videoCount=("uid", "size"),
        videosUnpriced=("unpriced", "sum"),
        ms=("priced_ms", "sum"),
        saving=("priced_saving", "sum"),
    )
    per = per.reset_index().sort_values(
        ["saving", "videoCount", "creator"], ascending=[False, False, True], kind="stable"
    )
    # Each video's fields as plain values, in (saving desc, uid) order, then by creator.
    fields = {
        "uid": rows["uid"].tolist(),
        "fileName": _plain(cold["name"]),
        "title": _plain(cold["title"]),
        "duration": _plain(cold["duration"]),
        "created": _plain(cold["created"]),
        "readyToStreamAt": _plain(cold["readyToStreamAt"]),
    }
    order = rows.sort_values(["saving", "uid"], ascending=[False, True], kind="stable").index
    creator_of, ok_of = rows["creator"].tolist(), known.tolist()
    ms_of, saving_of = priced_ms.tolist(), rows["saving"].tolist()
    videos: dict[str, list[ColdVideo]] = {c: [] for c in per["creator"]}
    for i in order.tolist():
        ok = ok_of[i]
        videos[creator_of[i]].append(
            ColdVideo(
                uid=fields["uid"][i],
                fileName=fields["fileName"][i],
                title=fields["title"][i],
                duration=fields["duration"][i],
                created=fields["created"][i],
                readyToStreamAt=fields["readyToStreamAt"][i],
                lastViewedDate=last_views.get(fields["uid"][i]),
                minutesStored=_minutes(ms_of[i]) if ok else None,
                monthlySavingMicros=saving_of[i] if ok else None,
            )
        )
    creators = [
        ColdCreator(
            creator=c.creator,
            videoCount=int(c.videoCount),
            videosUnpriced=int(c.videosUnpriced),
            minutesStored=_minutes(int(c.ms)),
            monthlySavingMicros=int(c.saving),
            videos=videos[c.creator],
        )
        for c in per.itertuples(index=False)
    ]
    totals = ColdTotals(
        videoCount=len(rows),
        videosUnpriced=int((~known).sum()),
        minutesStored=_minutes(int(priced_ms.sum())),
        monthlySavingMicros=int(rows.loc[known, "saving"].sum()),
    )
    return ColdVideosDoc(
        date=date,
        currency=prices.currency,
        coldAfterDays=cold_after_days,
        windowStart=window[0].isoformat(),
        windowEnd=window[-1].isoformat(),
        windowDaysStored=window_days_stored,
        totals=totals,
        creators=creators,
    )


# ------------------------------------------------------------------------- checks


def costs_add_up(doc: StreamCostsDoc) -> list[str]:
    """Problems (empty: passed): every integer of the platform line equals the sum of the
    creators' lines, and stored minutes agree to rounding."""
    problems = []
    for name in (
        "minutesDelivered",
        "deliveryCostMicros",
        "videosStored",
        "videosUnpriced",
        "storageCostPerMonthMicros",
    ):
        total = sum(getattr(c, name) for c in doc.creators)
        if total != getattr(doc.platform, name):
            problems.append(
                f"{name}: creators add up to {total}, platform says {getattr(doc.platform, name)}"
            )
    minutes = sum(c.minutesStored for c in doc.creators)
    if abs(minutes - doc.platform.minutesStored) > 0.001 * (len(doc.creators) + 1):
        problems.append(
            f"minutesStored: creators add up to {minutes:.3f}, platform says "
            f"{doc.platform.minutesStored}"
        )
    keys = [c.creator for c in doc.creators]
    if len(keys) != len(set(keys)):
        problems.append("a creator is listed twice")
    return problems


def cold_uids(doc: ColdVideosDoc) -> list[str]:
    return [v.uid for c in doc.creators for v in c.videos]


def cold_have_no_minutes(doc: ColdVideosDoc, window: Mapping[str, pd.DataFrame]) -> list[str]:
    """Problems: cold videos with minutes on a day of the window (named with the day)."""
    cold = set(cold_uids(doc))
    problems = []
    for day, frame in sorted(window.items()):
        hit = sorted(set(frame.loc[frame["minutesViewed"] > 0, "uid"]) & cold)
        problems.extend(f"{uid} has minutes on {day}" for uid in hit[:5])
    return problems


def cold_not_in_top(doc: ColdVideosDoc, top_uids: Iterable[str]) -> list[str]:
    """Problems: videos that are both cold and among the day's top videos."""
    both = sorted(set(cold_uids(doc)) & set(top_uids))
    return [f"{uid} is cold and in the day's top videos" for uid in both[:10]]


def cold_totals_add_up(doc: ColdVideosDoc) -> list[str]:
    problems = []
    count = sum(c.videoCount for c in doc.creators)
    saving = sum(c.monthlySavingMicros for c in doc.creators)
    videos = sum(len(c.videos) for c in doc.creators)
    if not count == videos == doc.totals.videoCount:
        problems.append(f"videoCount: {count} by creator, {videos} listed, {doc.totals.videoCount}")
    if saving != doc.totals.monthlySavingMicros:
        problems.append(
            f"monthlySavingMicros: {saving} by creator, {doc.totals.monthlySavingMicros}"
        )
    return problems
