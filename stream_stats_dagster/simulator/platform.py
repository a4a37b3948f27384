"""The synthetic creator platform behind the simulator: a video catalogue and view records.

Everything is a pure function of the seed, so two simulators with the same config answer the
same. The catalogue is built on first use (never at import); view records are generated per
UTC hour from (seed, hour) and kept in an LRU cache, so any date can be queried in any order
and gives the same rows. Columns are numpy arrays: a day at default scale is ~300k records,
and grouping them must take milliseconds, not seconds.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from cachetools import FIFOCache, LRUCache

from . import names
from .config import SimulatorConfig

UTC = dt.UTC
HOUR = 3600
DAY = 86400
MEDIA_TYPES: tuple[str, ...] = ("live", "vod")  # sorted: the code order is the sort order
_CREATED_FROM = int(dt.datetime(2019, 1, 1, tzinfo=UTC).timestamp())
_CREATED_TO = int(dt.datetime(2025, 1, 1, tzinfo=UTC).timestamp())
# Uploads no one has watched (yet) span the same years and run on into 2025, so that report
# days have recent uploads too (not cold: too young) and some still processing.
_UNWATCHED_TO = int(dt.datetime(2025, 6, 1, tzinfo=UTC).timestamp())
STATES: tuple[str, ...] = ("ready", "inprogress", "queued", "downloading")
# Share of a KST day's views per local hour (evening peak), scaled to mean 1.
_KST_CURVE = np.array(
    [0.9, 0.7, 0.5, 0.35, 0.25, 0.2, 0.2, 0.3, 0.5, 0.65, 0.75, 0.85,
     0.9, 0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 1.5, 1.75, 1.9, 1.8, 1.3]
)  # fmt: skip
_KST_CURVE = _KST_CURVE / _KST_CURVE.mean()


@dataclass(frozen=True)
class Video:
    """One catalogue entry, as the Stream REST API knows it."""

    uid: str
    creator: str | None  # None: REST `creator: null`, GraphQL creator ""
    name: str | None  # meta.name, None for the few uploads without one
    title: str | None  # meta.title
    post: str  # the post this file belongs to (ground truth for report tests)
    sequence: int
    premium: bool
    created_us: int  # microseconds since the epoch
    duration: float  # seconds; -1 while unknown (Stream's own convention)
    size: int
    deleted: bool  # REST answers 404 and the list endpoint skips it
    state: str = "ready"  # status.state: "ready", or still processing ("inprogress", ...)
    ready_us: int | None = None  # readyToStreamAt (None while processing)

    @property
    def created(self) -> str:
        return format_created(self.created_us)


def format_created(created_us: int) -> str:
    """RFC 3339 with microseconds and Z, the way Stream prints `created`."""
    t = dt.datetime.fromtimestamp(created_us // 1_000_000, UTC)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{created_us % 1_000_000:06d}Z"


@dataclass
class Catalog:
    """All videos, sorted by uid so that a uid's code order is its string order."""

    uids: np.ndarray  # <U32, sorted
    uid_list: list[str]
    index: dict[str, int]
    creators: list[str]  # sorted; creators[0] == "" (videos without a creator)
    creators_arr: np.ndarray
    video_creator: np.ndarray  # int32 code into creators, per video
    countries: list[str]  # sorted; countries[0] == "" (unknown)
    countries_arr: np.ndarray
    country_cdf: np.ndarray  # over codes
    names: list[str | None]
    titles: list[str | None]
    posts: list[str]
    sequence: np.ndarray
    premium: np.ndarray
    created_us: np.ndarray  # int64
    duration: np.ndarray
    size: np.ndarray
    deleted: np.ndarray  # bool
    video_cdf: np.ndarray  # popularity, cumulative, over codes
    state: np.ndarray  # int8 code into PROCESSING_STATES (0 = "ready")
    ready_us: np.ndarray  # int64 readyToStreamAt, -1 while processing
    created_order: np.ndarray = field(init=False)  # video codes by (created, uid)

    def __post_init__(self) -> None:
        self.created_order = np.lexsort((np.arange(len(self.uids)), self.created_us))

    def video(self, i: int) -> Video:
        creator = self.creators[self.video_creator[i]]
        return Video(
            uid=self.uid_list[i],
            creator=creator or None,
            name=self.names[i],
            title=self.titles[i],
            post=self.posts[i],
            sequence=int(self.sequence[i]),
            premium=bool(self.premium[i]),
            created_us=int(self.created_us[i]),
            duration=float(self.duration[i]),
            size=int(self.size[i]),
            deleted=bool(self.deleted[i]),
            state=STATES[int(self.state[i])],
            ready_us=None if self.ready_us[i] < 0 else int(self.ready_us[i]),
        )


@dataclass
class Records:
    """View records of some UTC hours, as parallel columns (one row per record)."""

    ts: np.ndarray  # int64 epoch seconds, minute resolution
    vid: np.ndarray  # int32 video code
    country: np.ndarray  # int16 country code
    media: np.ndarray  # int8 media type code
    minutes: np.ndarray  # int32 minutesViewed >= 1
    count: np.ndarray  # int32 count >= 1
    delay: np.ndarray  # float32 seconds until the record is visible (0 unless configured)

    def __len__(self) -> int:
        return len(self.ts)

    @staticmethod
    def concat(parts: Sequence[Records]) -> Records:
        if len(parts) == 1:
            return parts[0]
        return Records(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))

    def take(self, mask: np.ndarray) -> Records:
        return Records(*(getattr(self, f)[mask] for f in _FIELDS))


_FIELDS = ("ts", "vid", "country", "media", "minutes", "count", "delay")


class Platform:
    """The fake platform: lazily built catalogue plus per-hour view records."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._catalog: Catalog | None = None
        self._hours: LRUCache[int, Records] = LRUCache(config.hour_cache_size)
        self._extra: dict[int, list[Records]] = {}
        self._extra_version = 0
        # the last few windows asked for (a day's queries ask for the same one again)
        self._windows: FIFOCache[tuple[int, int, int], Records] = FIFOCache(4)

    # --- catalogue ---------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            with self._lock:
                if self._catalog is None:
                    self._catalog = _build_catalog(self.config)
        return self._catalog

    @property
    def uids(self) -> list[str]:
        return self.catalog.uid_list

    @property
    def creators(self) -> list[str]:
        """Every creator id, sorted, including "" (videos without a creator)."""
        return self.catalog.creators

    @property
    def countries(self) -> list[str]:
        """Every country code, sorted, including "" (unknown)."""
        return self.catalog.countries

    def video(self, uid: str) -> Video | None:
        """The catalogue entry (also for deleted videos), or None for an unknown uid."""
        i = self.catalog.index.get(uid)
        return None if i is None else self.catalog.video(i)

    def videos(self) -> list[Video]:
        cat = self.catalog
        return [cat.video(i) for i in range(len(cat.uids))]

    # --- view records ------------------------------------------------------------------
    def hour(self, hour_index: int) -> Records:
        """The records of one UTC hour (`hour_index` = epoch seconds // 3600)."""
        with self._lock:
            recs = self._hours.get(hour_index)
            if recs is None:
                recs = self._hours[hour_index] = _generate_hour(
                    self.config, self.catalog, hour_index
                )
            extra = self._extra.get(hour_index)
        return Records.concat([recs, *extra]) if extra else recs

    def window(self, start_ts: float, end_ts: float) -> Records:
        """Records of every UTC hour that overlaps [start_ts, end_ts) (not filtered further)."""
        h0, h1 = int(start_ts // HOUR), int(-(-end_ts // HOUR))
        key = (h0, h1, self._extra_version)
        with self._lock:
            hit = self._windows.get(key)
            if hit is not None:
                return hit
        recs = Records.concat([self.hour(h) for h in range(h0, max(h1, h0 + 1))])
        if h1 - h0 > 48:  # a month is ~200 MB at default scale: do not keep it
            return recs
        with self._lock:
            self._windows[key] = recs
        return recs

    def add_views(
        self,
        uid: str,
        at: dt.datetime,
        minutes_viewed: int,
        count: int = 1,
        country: str = "KR",
        media_type: str = "vod",
    ) -> None:
        """Add one record (e.g. late data for a day already collected)."""
        cat = self.catalog
        ts = int(at.astimezone(UTC).timestamp()) // 60 * 60
        rec = Records(
            ts=np.array([ts], np.int64),
            vid=np.array([cat.index[uid]], np.int32),
            country=np.array([cat.countries.index(country)], np.int16),
            media=np.array([MEDIA_TYPES.index(media_type)], np.int8),
            minutes=np.array([minutes_viewed], np.int32),
            count=np.array([count], np.int32),
            delay=np.zeros(1, np.float32),
        )
        with self._lock:
            self._extra.setdefault(ts // HOUR, []).append(rec)
            self._extra_version += 1
            self._windows.clear()

    def records(self, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        """Decoded records with start <= datetime < end: an oracle for tests."""
        s, e = start.timestamp(), end.timestamp()
        r = self.window(s, e)
        r = r.take((r.ts >= s) & (r.ts < e))
        cat = self.catalog
        return pd.DataFrame(
            {
                "datetime": pd.to_datetime(r.ts, unit="s", utc=True),
                "uid": cat.uids[r.vid],
                "creator": cat.creators_arr[cat.video_creator[r.vid]],
                "clientCountryName": cat.countries_arr[r.country],
                "mediaType": np.array(MEDIA_TYPES)[r.media],
                "minutesViewed": r.minutes,
                "count": r.count,
            }
        )

    def totals(self, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
        """(sum of minutesViewed, sum of count) for start <= datetime < end."""
        s, e = start.timestamp(), end.timestamp()
        r = self.window(s, e)
        m = (r.ts >= s) & (r.ts < e)
        return int(r.minutes[m].sum()), int(r.count[m].sum())


# --- generation --------------------------------------------------------------------------


def _unique_ints(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    out = np.unique(rng.integers(low, high, size=n * 2 + 16))
    while len(out) < n:
        out = np.unique(np.concatenate([out, rng.integers(low, high, size=n)]))
    return rng.permutation(out)[:n]


def _build_catalog(cfg: SimulatorConfig) -> Catalog:
    rng = np.random.default_rng([cfg.seed, 1])
    n_big_creators = cfg.big_creators
    n_small = max(1, min(cfg.small_creators, cfg.videos - cfg.big_posts))
    ids = _unique_ints(rng, n_big_creators + n_small, 1000, 10_000_000)
    creator_ids = [f"u{n}" for n in ids]

    # Big posts: ~videos_per_big_post files each, owned by the big creators.
    sizes = np.maximum(1, np.rint(cfg.videos_per_big_post * rng.uniform(0.5, 1.5, cfg.big_posts)))
    budget = cfg.videos - n_small
    if sizes.sum() > budget:
        sizes = np.maximum(1, np.floor(sizes * budget / sizes.sum()))
    sizes = sizes.astype(np.int64)
    owners = np.concatenate(
        [np.arange(min(n_big_creators, cfg.big_posts)),
         rng.integers(0, n_big_creators, max(0, cfg.big_posts - n_big_creators))]
    )  # fmt: skip
    owners = rng.permutation(owners)

    creator: list[int] = []  # index into creator_ids
    fnames: list[str | None] = []
    titles: list[str | None] = []
    posts: list[str] = []
    seqs: list[int] = []
    post_of: list[int] = []  # post number per video, for popularity and created times
    big_popularity: list[float] = []
    used: set[tuple[int, str]] = set()
    post_rank = rng.permutation(cfg.big_posts)
    for p in range(cfg.big_posts):
        owner = int(owners[p])
        label = _pick_label(rng, names.BIG_POST_NAMES, owner, used)
        sep = _separator(float(rng.random()), label)
        title = names.BIG_POST_TITLES[rng.integers(len(names.BIG_POST_TITLES))]
        n = int(sizes[p])
        variants = rng.random(n)
        within = rng.lognormal(0.0, 0.6, n) / (1 + 0.03 * np.arange(n))
        post_weight = 1.0 / (post_rank[p] + 1.0)
        for k in range(1, n + 1):
            creator.append(owner)
            fnames.append(f"{label}{sep}{k:03d}.mp4")
            v = variants[k - 1]
            titles.append(None if v < 0.03 else f"{title} #{k}" if v < 0.13 else title)
            posts.append(label)
            seqs.append(k)
            post_of.append(p)
        big_popularity.extend(post_weight * within / within.sum())
    n_big_videos = len(creator)

    # Small posts of the long tail: every small creator has at least one video.
    n_small_videos = cfg.videos - n_big_videos
    per_creator = 1 + rng.multinomial(
        n_small_videos - n_small, _normalize(rng.lognormal(0.0, 1.0, n_small))
    )
    creator_weight = rng.lognormal(0.0, 1.3, n_small)
    video_weight = rng.lognormal(0.0, 0.5, max(n_small_videos, 1))[:n_small_videos]
    first = np.r_[0, np.cumsum(per_creator)[:-1]]
    if n_small_videos:
        video_weight *= np.repeat(
            creator_weight / np.add.reduceat(video_weight, first), per_creator
        )
    small_popularity = video_weight
    pool = names.SMALL_POST_NAMES
    n_posts = np.where(per_creator <= 3, 1, rng.integers(1, 4, n_small))
    picks = np.argsort(rng.random((n_small, len(pool))), axis=1)[:, :3]
    cut_u = rng.random((n_small, 2))
    post_u = rng.random((n_small, 3, 5))  # separator, width, extension, title, single
    post_no = cfg.big_posts
    for c in range(n_small):
        owner = n_big_creators + c
        total = int(per_creator[c])
        if n_posts[c] == 1:
            bounds = [0, total]
        elif n_posts[c] == 2:
            bounds = [0, 1 + int(cut_u[c, 0] * (total - 1)), total]
        else:  # total >= 4: cuts 1 <= a < b <= total - 1
            a = 1 + int(cut_u[c, 0] * (total - 2))
            b = a + 1 + int(cut_u[c, 1] * (total - 1 - a))
            bounds = [0, a, b, total]
        for j in range(len(bounds) - 1):
            raw = pool[picks[c, j]]
            label = raw.rstrip("-_ ")
            u = post_u[c, j]
            count = bounds[j + 1] - bounds[j]
            sep = "" if raw != label else _separator(u[0], label)
            width = 2 if u[1] < 0.6 else 3
            ext = (".mp4", ".mp4", ".mp4", ".mov", ".MP4")[int(u[2] * 5)]
            titles_pool = names.SMALL_POST_TITLES
            title = (
                titles_pool[int(u[3] * 10 * len(titles_pool)) % len(titles_pool)]
                if u[3] < 0.6
                else None
            )
            if count == 1 and raw == label and u[4] < 0.4:
                new_names = [f"{label}{ext}"]
            else:
                new_names = [f"{raw}{sep}{k:0{width}d}{ext}" for k in range(1, count + 1)]
            fnames.extend(new_names)
            creator.extend([owner] * count)
            titles.extend([title] * count)
            posts.extend([label] * count)
            seqs.extend(range(1, count + 1))
            post_of.extend([post_no] * count)
            post_no += 1

    n = len(creator)
    share = cfg.small_creator_share if n_small_videos > 0 else 0.0
    popularity = np.concatenate(
        [_normalize(np.array(big_popularity)) * (1 - share),
         _normalize(np.array(small_popularity)) * share]
    )  # fmt: skip

    # Uploads: each post starts at a random time, its files follow minutes to days apart.
    post_arr = np.array(post_of)
    post_start = rng.integers(_CREATED_FROM, _CREATED_TO - 60 * DAY, post_no).astype(np.int64)
    gaps = rng.exponential(6 * HOUR, n) * 1_000_000
    created = np.empty(n, np.int64)
    offsets = np.cumsum(gaps)
    starts = np.flatnonzero(np.r_[True, post_arr[1:] != post_arr[:-1]])
    base = np.repeat(offsets[starts] - gaps[starts], np.diff(np.r_[starts, n]))
    created[:] = post_start[post_arr] * 1_000_000 + (offsets - base).astype(np.int64)
    created += rng.integers(0, 1_000_000, n)

    creator_code_raw = np.array(creator, np.int64)
    no_creator = rng.random(n) < cfg.no_creator_fraction
    no_name = rng.random(n) < cfg.no_name_fraction
    deleted = rng.random(n) < cfg.deleted_fraction
    for i in np.flatnonzero(no_name):
        fnames[i] = None

    hexes = rng.bytes(16 * n).hex()
    uid_strs = np.array([hexes[i : i + 32] for i in range(0, 32 * n, 32)])
    countries = _countries(cfg, rng)
    premium = rng.random(n) < 0.2  # the last draw of `rng`: duration and size have their own

    # Videos no one watches: drawn from their own stream, after everything above, so the
    # watched catalogue and its view records are exactly what they were without them.
    extra = _unwatched(cfg, n_big_creators + n_small)
    m = len(extra["uid"])
    all_uids = np.concatenate([uid_strs, extra["uid"]])
    if len(np.unique(all_uids)) != len(all_uids):
        raise AssertionError("simulator: an unwatched video drew a uid already in use")
    order = np.argsort(all_uids, kind="stable")
    fnames += extra["name"]
    titles += extra["title"]
    posts += extra["post"]
    creator_code_raw = np.concatenate([creator_code_raw, extra["creator"]])
    no_creator = np.concatenate([no_creator, np.zeros(m, bool)])
    popularity = np.concatenate([popularity, np.zeros(m)])

    all_creators = sorted({"", *creator_ids})
    code_of = {c: i for i, c in enumerate(all_creators)}
    creator_codes = np.array([code_of[c] for c in creator_ids], np.int32)[creator_code_raw]
    creator_codes[no_creator] = 0

    created_all = np.concatenate([created, extra["created_us"]])
    duration, size, state, ready_us = _media(cfg, created_all, processing=extra["processing"])
    uids = all_uids[order]
    uid_list = uids.tolist()
    return Catalog(
        uids=uids,
        uid_list=uid_list,
        index={u: i for i, u in enumerate(uid_list)},
        creators=all_creators,
        creators_arr=np.array(all_creators),
        video_creator=creator_codes[order],
        countries=countries[0],
        countries_arr=np.array(countries[0]),
        country_cdf=countries[1],
        names=[fnames[i] for i in order],
        titles=[titles[i] for i in order],
        posts=[posts[i] for i in order],
        sequence=np.concatenate([np.array(seqs, np.int32), np.ones(m, np.int32)])[order],
        premium=np.concatenate([premium, np.zeros(m, bool)])[order],
        created_us=created_all[order],
        duration=duration[order],
        size=size[order],
        deleted=np.concatenate([deleted, np.zeros(m, bool)])[order],
        video_cdf=np.cumsum(popularity[order]),
        state=state[order],
        ready_us=ready_us[order],
    )


def _unwatched(cfg: SimulatorConfig, n_creators: int) -> dict[str, list | np.ndarray]:
    """`cfg.unwatched_videos` uploads without views, by existing creators (their own rng)."""
    m = cfg.unwatched_videos
    rng = np.random.default_rng([cfg.seed, 6])
    hexes = rng.bytes(16 * m).hex()
    pool = names.SMALL_POST_NAMES
    labels = [pool[i].rstrip("-_ ") for i in rng.integers(0, len(pool), m)]
    numbers = rng.integers(1, 100, m)
    created = rng.integers(_CREATED_FROM, _UNWATCHED_TO, m).astype(np.int64) * 1_000_000
    created += rng.integers(0, 1_000_000, m)
    # the newest few are still being processed
    newest = np.argsort(-created, kind="stable")[: cfg.processing_videos]
    processing = np.zeros(m, bool)
    processing[newest] = True
    return {
        "uid": np.array([hexes[i : i + 32] for i in range(0, 32 * m, 32)], dtype="<U32"),
        "creator": rng.integers(0, n_creators, m).astype(np.int64),
        "name": [f"{label}_{k:02d}.mp4" for label, k in zip(labels, numbers, strict=True)],
        "title": [None] * m,
        "post": labels,
        "created_us": created,
        "processing": processing,
    }


def _media(
    cfg: SimulatorConfig, created_us: np.ndarray, *, processing: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Durations, sizes, states and ready times of every video (their own rng stream).

    Durations are log-normal around 8 minutes (5 s .. 3 h); sizes follow from a bitrate of
    1.5..6 Mbit/s; Stream reports -1 for a few ready videos whose duration it does not know,
    and for every video still processing (which has no ready time yet)."""
    n = len(created_us)
    rng = np.random.default_rng([cfg.seed, 7])
    duration = np.round(np.clip(rng.lognormal(np.log(480), 0.9, n), 5, 3 * 3600), 1)
    bitrate = rng.uniform(1.5e6, 6e6, n)
    size = (duration * bitrate / 8).astype(np.int64) + 4096
    ready_us = created_us + ((rng.uniform(20, 90, n) + duration / 4) * 1_000_000).astype(np.int64)
    unknown = rng.random(n) < cfg.unknown_duration_fraction
    duration[unknown] = -1.0
    pending = np.flatnonzero(np.r_[np.zeros(n - len(processing), bool), processing])
    state = np.zeros(n, np.int8)
    state[pending] = rng.integers(1, len(STATES), len(pending))
    duration[pending] = -1.0
    size[pending] = 0
    ready_us[pending] = -1
    return duration, size, state, ready_us


def _pick_label(
    rng: np.random.Generator, pool: Sequence[str], owner: int, used: set[tuple[int, str]]
) -> str:
    label = pool[int(rng.integers(len(pool)))]
    suffix = 0
    candidate = label
    while (owner, candidate) in used:
        suffix += 1
        candidate = (
            f"{label}-{chr(ord('a') + suffix - 1)}" if suffix <= 26 else f"{label}-x{suffix}"
        )
    used.add((owner, candidate))
    return candidate


def _separator(u: float, label: str) -> str:
    """`lady` + `001`, but `lady-2` needs `-003`: a digit may not touch the number."""
    seps = ("-", "_") if label[-1:].isdigit() else names.SEPARATORS
    return seps[int(u * len(seps))]


def _normalize(w: np.ndarray) -> np.ndarray:
    total = w.sum()
    return w / total if total > 0 else w


def _countries(cfg: SimulatorConfig, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Country codes (sorted, "" first) and a skewed popularity cdf over those codes."""
    rest = [c for c in names.ALL_COUNTRIES if c not in names.TOP_COUNTRIES]
    ranked = list(names.TOP_COUNTRIES) + [rest[i] for i in rng.permutation(len(rest))]
    ranked = ranked[: cfg.countries]
    weight = {c: 1.0 / (r + 1) ** 1.4 for r, c in enumerate(ranked)}
    total = sum(weight.values())
    codes = sorted(["", *ranked])
    p = np.array(
        [cfg.unknown_country_fraction if c == "" else
         (1 - cfg.unknown_country_fraction) * weight[c] / total for c in codes]
    )  # fmt: skip
    return codes, np.cumsum(p) / p.sum()


def _hour_count(cfg: SimulatorConfig, hour_index: int) -> int:
    """How many records an hour has: KST day curve x weekday x per-day and per-hour noise."""
    kst_hour = (hour_index + 9) % 24
    kst_day = (hour_index + 9) // 24
    weekday = (kst_day + 3) % 7  # 1970-01-01 was a Thursday (3)
    day_noise = np.random.default_rng([cfg.seed, 2, kst_day + 2**40]).lognormal(0.0, 0.08)
    hour_noise = np.random.default_rng([cfg.seed, 3, hour_index + 2**40]).lognormal(0.0, 0.05)
    week = 1.12 if weekday >= 5 else 0.95
    return int(cfg.records_per_hour * _KST_CURVE[kst_hour] * week * day_noise * hour_noise)


def _generate_hour(cfg: SimulatorConfig, cat: Catalog, hour_index: int) -> Records:
    n = _hour_count(cfg, hour_index)
    rng = np.random.default_rng([cfg.seed, 4, hour_index + 2**40])
    start = hour_index * HOUR
    ts = start + rng.integers(0, 60, n, dtype=np.int64) * 60
    vid = np.minimum(
        np.searchsorted(cat.video_cdf, rng.random(n) * cat.video_cdf[-1], side="right"),
        len(cat.video_cdf) - 1,
    ).astype(np.int32)
    country = np.minimum(
        np.searchsorted(cat.country_cdf, rng.random(n), side="right"), len(cat.country_cdf) - 1
    ).astype(np.int16)
    media = (rng.random(n) >= 0.03).astype(np.int8)  # 1 = "vod", 0 = "live"
    minutes = rng.geometric(0.25, n).astype(np.int32)
    count = rng.geometric(0.7, n).astype(np.int32)
    if cfg.late_arrival_mean_minutes > 0:
        late = np.random.default_rng([cfg.seed, 5, hour_index + 2**40])
        delay = (late.exponential(cfg.late_arrival_mean_minutes * 60, n)).astype(np.float32)
    else:
        delay = np.zeros(n, np.float32)
    # A video has no views before it was uploaded.
    keep = cat.created_us[vid] <= ts * 1_000_000
    order = np.argsort(ts[keep], kind="stable")
    recs = Records(ts, vid, country, media, minutes, count, delay).take(keep)
    return recs.take(order)
