"""The columnar metadata cache: migration from the per-video file, merging under a racing
writer, the one-time relist that fills the cost fields, and memory-light dtypes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tracemalloc
from dataclasses import dataclass

import pandas as pd
import pytest

from stream_stats_dagster import jsonbytes
from stream_stats_dagster.cloudflare import CloudflareClient
from stream_stats_dagster.facts import VideoMetadata
from stream_stats_dagster.keys import LEGACY_METADATA_CACHE_KEY, METADATA_CACHE_KEY
from stream_stats_dagster.metadata_cache import (
    COLUMNS,
    CacheDocument,
    LegacyCacheDocument,
    MetadataCache,
    frame_from_videos,
)
from stream_stats_dagster.simulator import Simulator, small_config
from stream_stats_dagster.storage.local import LocalStore

BUCKET = "points-system-bucket"
T0 = dt.datetime(2025, 3, 12, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Listed:
    """A video as the list endpoint gives it (what the client parses into VideoMetadata)."""

    uid: str
    found: bool
    creator: str | None
    name: str | None
    title: str | None
    created: str | None
    duration: float | None = None
    size: int | None = None
    state: str | None = None
    readyToStreamAt: str | None = None
    scheduledDeletion: str | None = None

    def snapshot(self) -> VideoMetadata:
        return VideoMetadata(
            uid=self.uid,
            found=self.found,
            creator=self.creator,
            name=self.name,
            title=self.title,
            created=self.created,
        )


def _video(i: int, **details) -> Listed:
    return Listed(
        uid=f"v{i:04d}",
        found=True,
        creator=f"c{i % 3}",
        name=f"post{i:03d}.mp4",
        title="제목" if i % 2 else None,
        created=f"2025-01-01T00:{i // 60:02d}:{i % 60:02d}.000000Z",
        **details,
    )


def _detailed(i: int) -> Listed:
    return _video(
        i,
        duration=-1.0 if i == 3 else 60.0 + i,
        size=1000 * i,
        state="ready",
        readyToStreamAt=f"2025-01-01T01:{i // 60:02d}:{i % 60:02d}.000000Z",
    )


class FakeSource:
    """The catalogue in creation order, pages of `page` videos; counts its calls."""

    def __init__(self, videos: list[Listed], page: int = 1000) -> None:
        self.videos, self.page = videos, page
        self.list_calls: list[str | None] = []
        self.hidden: set[str] = set()  # left out of the list, still there one by one
        self.fetched: list[str] = []

    def list_videos(self, *, created_after: str | None = None):
        self.list_calls.append(created_after)
        # from the cursor on, inclusive: the client starts a second early, so the newest
        # video already known comes again
        rest = [
            v
            for v in self.videos
            if (created_after is None or v.created >= created_after) and v.uid not in self.hidden
        ]
        for i in range(0, len(rest), self.page):
            yield rest[i : i + self.page]

    def count_videos(self) -> int:
        """What Stream holds now: the listed videos (the hidden ones too)."""
        self.count_calls = getattr(self, "count_calls", 0) + 1
        return len(self.videos)

    def get_videos(self, uids):
        self.fetched.extend(uids)
        by_uid = {v.uid: v for v in self.videos}
        return {u: by_uid.get(u, VideoMetadata(uid=u, found=False)) for u in uids}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path, fsync=False)


def _stored(store: LocalStore) -> CacheDocument:
    return CacheDocument.model_validate_json(store.get(BUCKET, METADATA_CACHE_KEY).body)


def test_resolve_frame_rows_in_first_appearance_order(store) -> None:
    source = FakeSource([_detailed(i) for i in range(10)])
    cache = MetadataCache(store, BUCKET)
    frame, stats = cache.resolve_frame(source, ["v0005", "v0001", "v0005", "gone"])
    assert list(frame.columns) == COLUMNS
    assert frame["uid"].tolist() == ["v0005", "v0001", "gone"]
    assert frame["found"].tolist() == [True, True, False]
    assert frame.loc[0, "duration"] == 65.0 and frame.loc[0, "size"] == 5000
    assert frame.loc[0, "created"] == "2025-01-01T00:00:05.000000Z"  # Cloudflare's text
    assert frame.loc[2, "creator"] is None or pd.isna(frame.loc[2, "creator"])
    # a repeated uid counts as a hit, as before the change
    assert (stats.requested, stats.hits, stats.fetched, stats.not_found) == (4, 1, 3, 1)
    again, stats = cache.resolve_frame(source, ["gone", "v0001"])
    assert source.fetched == ["v0005", "v0001", "gone"]  # nothing fetched twice
    assert stats.hits == 2 and again["uid"].tolist() == ["gone", "v0001"]


def test_resolve_keeps_the_six_snapshot_fields(store) -> None:
    """The raw `video-metadata` snapshots keep their bytes: no cost field leaks into them."""
    source = FakeSource([_detailed(i) for i in range(5)])
    metadata, _ = MetadataCache(store, BUCKET).resolve(source, ["v0002", "gone", "v0002"])
    assert list(metadata) == ["v0002", "gone"]
    assert metadata["v0002"] == _video(2).snapshot()  # the cost fields left out
    assert metadata["gone"] == VideoMetadata(uid="gone", found=False)
    six = ["uid", "found", "creator", "name", "title", "created"]
    assert [list(v.model_dump(mode="json")) for v in metadata.values()] == [six, six]


def test_cold_cache_is_warmed_through_the_list_endpoint(store) -> None:
    source = FakeSource([_detailed(i) for i in range(2500)])
    cache = MetadataCache(store, BUCKET, warm_threshold=200)
    frame, stats = cache.resolve_frame(source, [f"v{i:04d}" for i in range(300)])
    assert source.list_calls == [None] and source.fetched == []
    assert stats.listed == 2500 and frame["found"].all()
    assert _stored(store).catalogueCursor == "2025-01-01T00:41:39.000000Z"


def test_migrates_the_old_per_video_file_once(store) -> None:
    old = {
        "schemaVersion": 1,
        "catalogueCursor": "2025-01-01T00:00:02.000000Z",
        "videos": {v.uid: v.snapshot().model_dump(exclude={"uid"}) for v in [_video(1), _video(2)]}
        | {"gone": {"found": False, "creator": None, "name": None, "title": None, "created": None}},
    }
    store.put(BUCKET, LEGACY_METADATA_CACHE_KEY, jsonbytes.dumps(old))
    source = FakeSource([_detailed(i) for i in range(5)])
    cache = MetadataCache(store, BUCKET)
    metadata, stats = cache.resolve(source, ["v0001", "gone"])
    assert stats.migrated and stats.hits == 2 and source.fetched == [] and not source.list_calls
    assert metadata == {
        "v0001": _video(1).snapshot(),
        "gone": VideoMetadata(uid="gone", found=False),
    }
    doc = _stored(store)
    assert doc.columns.uid == ["gone", "v0001", "v0002"]
    assert doc.columns.duration == [None, None, None]  # not known yet: the relist fills them
    assert doc.catalogueCursor is None  # so the next listing starts from the beginning
    assert store.get(BUCKET, LEGACY_METADATA_CACHE_KEY) is not None  # left for old readers
    _, stats = cache.resolve(source, ["v0002"])
    assert not stats.migrated and stats.hits == 1  # read from the new key from now on


def test_relists_from_the_start_once_then_incrementally(store) -> None:
    old = {
        "schemaVersion": 1,
        "videos": {v.uid: v.snapshot().model_dump(exclude={"uid"}) for v in [_video(1)]},
    }
    store.put(BUCKET, LEGACY_METADATA_CACHE_KEY, jsonbytes.dumps(old))
    clock = Clock()
    source = FakeSource([_detailed(i) for i in range(5)], page=2)
    cache = MetadataCache(store, BUCKET, clock=clock)

    frame, stats = cache.refresh_catalogue(source)
    assert source.list_calls == [None] and stats.full_listing and stats.migrated
    assert frame.loc["v0001", "duration"] == 61.0 and frame.loc["v0003", "duration"] == -1.0
    assert frame.loc["v0004", "state"] == "ready"
    assert _stored(store).fullListingAt == T0.isoformat()

    source.videos.append(_detailed(7))
    clock.now = T0 + dt.timedelta(days=1)
    frame, stats = cache.refresh_catalogue(source)
    assert source.list_calls[-1] == "2025-01-01T00:00:04.000000Z"  # only what is new
    assert not stats.full_listing and stats.listed == 2 and "v0007" in frame.index
    puts: list[str] = []

    class CountingStore(LocalStore):
        def put(self, bucket, key, body, **kwargs):
            puts.append(key)
            return super().put(bucket, key, body, **kwargs)

    clock.now = T0 + dt.timedelta(days=2)
    counted = MetadataCache(CountingStore(store.root, fsync=False), BUCKET, clock=clock)
    _, stats = counted.refresh_catalogue(source)
    assert stats.listed == 1 and puts == []  # v0007 again, unchanged: nothing to write

    # A week later the catalogue is listed from the start again: deletions become visible.
    source.videos = [v for v in source.videos if v.uid != "v0002"]
    source.hidden = {"v0004"}  # e.g. a state the list does not show
    clock.now = T0 + dt.timedelta(days=7)
    frame, stats = cache.refresh_catalogue(source)
    assert source.list_calls[-1] is None and stats.full_listing and stats.marked_deleted == 1
    assert source.fetched[-2:] == ["v0002", "v0004"]  # a 404 is what says "deleted"
    assert frame.loc["v0004", "found"]
    assert not frame.loc["v0002", "found"] and pd.isna(frame.loc["v0002", "name"])
    assert len(source.list_calls) == 4


def test_concurrent_writers_merge(store) -> None:
    """A run that lost the conditional put reloads the winner's cache and merges onto it."""
    source = FakeSource([_detailed(i) for i in range(6)])
    MetadataCache(store, BUCKET).resolve_frame(source, ["v0000"])

    class RacingStore(LocalStore):
        raced = False

        def put(self, bucket, key, body, **kwargs):
            if key == METADATA_CACHE_KEY and not self.raced:
                self.raced = True  # another run saves v0002 between our read and our write
                MetadataCache(store, BUCKET).resolve_frame(source, ["v0002"])
            return super().put(bucket, key, body, **kwargs)

    racing = RacingStore(store.root, fsync=False)
    frame, _ = MetadataCache(racing, BUCKET).resolve_frame(source, ["v0001"])
    assert racing.raced and frame["uid"].tolist() == ["v0001"]
    assert _stored(store).columns.uid == ["v0000", "v0001", "v0002"]


def test_cache_frame_has_memory_light_dtypes(store) -> None:
    videos = [_detailed(i) for i in range(3000)]
    MetadataCache(store, BUCKET, warm_threshold=0).resolve_frame(FakeSource(videos), ["v0001"])
    frame = MetadataCache(store, BUCKET).load_frame()
    assert len(frame) == 3000
    for name in ("creator", "title", "state", "scheduledDeletion"):
        assert isinstance(frame[name].dtype, pd.CategoricalDtype), name
    for name in ("created", "readyToStreamAt"):
        assert isinstance(frame[name].dtype, pd.DatetimeTZDtype), name
    assert frame["found"].dtype == bool and frame["duration"].dtype == "float64"
    assert str(frame["size"].dtype) == "Int64"
    # against the old shape (one dict per video) holding the same entries
    legacy = {v.uid: dataclasses.asdict(v) for v in videos}
    body = jsonbytes.dumps({"videos": legacy})
    tracemalloc.start()
    old = LegacyCacheDocument.model_validate_json(body)
    as_dicts = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(old.videos) == 3000
    assert frame.memory_usage(deep=True).sum() < as_dicts / 3
    # timestamps keep their exact text, whatever the format
    text = MetadataCache(store, BUCKET).resolve_frame(FakeSource(videos), ["v0002"])[0]
    assert text.loc[0, "created"] == videos[2].created


def test_timestamps_in_another_format_stay_text(store) -> None:
    odd = [dataclasses.replace(_video(1), created="2014-01-02T02:20:00Z"), _video(2)]
    cache = MetadataCache(store, BUCKET)
    frame, _ = cache.resolve_frame(FakeSource(odd), ["v0001", "v0002"])
    assert frame["created"].tolist() == ["2014-01-02T02:20:00Z", _video(2).created]
    assert _stored(store).columns.created == ["2014-01-02T02:20:00Z", _video(2).created]


def test_cold_fill_against_the_simulator_uses_list_pages(store) -> None:
    """The real client: 1,000 videos a list call, so a cold fill costs ~videos/1000 calls."""
    sim = Simulator(small_config())
    with CloudflareClient(
        "http://sim/client/v4", "sim-account", "sim-token", transport=sim.transport()
    ) as client:
        cache = MetadataCache(store, BUCKET)
        frame, stats = cache.resolve_frame(client, sim.platform.uids[:500])
    live = sum(not v.deleted for v in sim.platform.videos())
    assert stats.listed == live
    assert client.stats.rest_calls == live // 1000 + 1 + stats.fetched
    assert stats.fetched == stats.not_found  # only the deleted ones are fetched one by one
    # the client parses what the cost reports need from the list endpoint
    truth = {v.uid: v for v in sim.platform.videos()}
    listed = frame[frame["found"]]
    assert len(listed) > 400
    for row in listed.itertuples():
        v = truth[row.uid]
        assert (row.duration, row.size, row.state) == (v.duration, v.size, v.state)
        assert (row.readyToStreamAt is None) == (v.ready_us is None)
        assert pd.isna(row.scheduledDeletion)


def test_a_process_parses_the_stored_catalogue_once(store, monkeypatch) -> None:
    """Each raw step of a range reads the catalogue: parsed once, and again only when
    another writer changed it."""
    import stream_stats_dagster.metadata_cache as mc
    from stream_stats_dagster.storage.memo import ParsedFiles

    monkeypatch.setattr(mc, "CATALOGUES", ParsedFiles(capacity=2))
    parses: list[int] = []
    real = mc._parse
    monkeypatch.setattr(mc, "_parse", lambda body: parses.append(1) or real(body))
    source = FakeSource([_detailed(i) for i in range(6)])
    MetadataCache(store, BUCKET).resolve_frame(source, ["v0000", "v0001"])  # fetched, saved
    frame, stats = MetadataCache(store, BUCKET).resolve_frame(source, ["v0001"])
    assert parses == [] and stats.hits == 1  # what this process wrote is what it reads
    assert frame["uid"].tolist() == ["v0001"]
    # another writer adds v0005 (what a run in another process would save)
    stored, cursor, full = real(store.get(BUCKET, METADATA_CACHE_KEY).body)
    added = mc._typed(mc._stack(stored, mc.frame_from_videos([_detailed(5)]))).sort_index()
    doc = mc.frame_to_document(added, cursor, full)
    store.put(BUCKET, METADATA_CACHE_KEY, jsonbytes.dumps(doc))
    frame, stats = MetadataCache(store, BUCKET).resolve_frame(source, ["v0005"])
    assert parses == [1] and stats.hits == 1 and source.fetched == ["v0000", "v0001"]


def _mixed_frame() -> pd.DataFrame:
    """Every kind of value a stored column holds: unicode, None, -1 durations, NA sizes,
    timestamps in Stream's format and (in another column) in another one."""
    videos = [_detailed(i) for i in range(40)]
    videos[5] = dataclasses.replace(videos[5], title='따옴표 "q" \\ 끝', size=None)
    videos[6] = dataclasses.replace(
        videos[6], duration=None, readyToStreamAt="2014-01-02T02:20:00Z"
    )
    videos[7] = Listed(uid="gone", found=False, creator=None, name=None, title=None, created=None)
    return mc_typed(frame_from_videos(videos))


def mc_typed(frame: pd.DataFrame) -> pd.DataFrame:
    import stream_stats_dagster.metadata_cache as mc

    return mc._typed(frame).sort_index()


def test_catalogue_is_written_column_by_column_as_the_model_would() -> None:
    import stream_stats_dagster.metadata_cache as mc

    frame = _mixed_frame()
    body = mc.catalogue_bytes(frame, "2025-01-01T00:00:39.000000Z", None)
    assert body == jsonbytes.dumps(mc.frame_to_document(frame, "2025-01-01T00:00:39.000000Z", None))
    parsed, cursor, full = mc._parse(body)
    whole = CacheDocument.model_validate_json(body)
    pd.testing.assert_frame_equal(parsed, mc.frame_from_columns(vars(whole.columns)))
    assert (cursor, full) == ("2025-01-01T00:00:39.000000Z", None)
    assert mc.catalogue_bytes(parsed, cursor, full) == body


def test_a_bad_stored_catalogue_fails_with_the_models_error() -> None:
    import pydantic

    import stream_stats_dagster.metadata_cache as mc

    body = mc.catalogue_bytes(_mixed_frame(), None, None)
    for bad in (
        body.replace(b'"uid":["', b'"uid":[7,"', 1),  # not a string
        body.replace(b'"found":[', b'"found":[true,', 1),  # one value too many
    ):
        with pytest.raises(pydantic.ValidationError):
            mc._parse(bad)


def test_only_timestamps_that_print_back_to_their_text_become_datetimes() -> None:
    """A column becomes datetime64 only if every value prints back to exactly its text:
    one value out of Stream's format, or out of range, keeps the whole column as text."""
    from stream_stats_dagster.metadata_cache import _times, time_text

    good = ["2024-02-29T23:59:59.999999Z", "0001-01-01T00:00:00.000000Z", None]
    parsed = _times(good)
    assert isinstance(parsed.dtype, pd.DatetimeTZDtype)
    assert time_text(parsed) == good
    for odd in [
        "2025-02-29T00:00:00.000000Z",  # not a leap year
        "2025-01-01T24:00:00.000000Z",  # hour 24
        "2025-01-01T23:59:60.000000Z",  # leap second
        "2025-13-01T00:00:00.000000Z",  # month 13
        "2025-01-01 00:00:00.000000Z",  # a space for the T
        "2025-01-01T00:00:00.000000+",  # no Z
        "2025-01-01T00:00:00,000000Z",  # a comma for the dot
        "2025-01-0１T00:00:00.000000Z",  # a full-width digit (not ASCII)
        "+025-01-01T00:00:00.000000Z",
    ]:
        column = _times([good[0], odd])
        assert column.dtype == object, odd
        assert column.tolist() == [good[0], odd]
