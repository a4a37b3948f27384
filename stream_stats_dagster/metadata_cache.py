"""The shared video-metadata cache (SPEC §6), kept in storage at `stream-stats/cache/`.

Only videos not yet known are fetched. A cold cache (many unknown videos) is warmed
through the list endpoint, 1,000 videos a call, starting after the newest `created` seen
so far: an incremental catalogue, not a full listing on every run. A 404 is cached too:
a deleted video stays deleted. Saving is a conditional put, so two runs that add
different videos merge instead of overwriting each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from .facts import SCHEMA_VERSION, VideoMetadata
from .keys import METADATA_CACHE_KEY
from .storage import jsonbytes
from .storage.base import ObjectStore, PreconditionFailed

WARM_THRESHOLD = 200  # more unknown videos than this: list the catalogue instead of 1 call each
SAVE_ATTEMPTS = 5


class MetadataSource(Protocol):
    def get_videos(self, uids: Sequence[str]) -> dict[str, VideoMetadata]: ...
    def list_videos(self, *, created_after: str | None = None): ...


class CacheDocument(BaseModel):
    """Entries are plain dicts (VideoMetadata minus its uid): 100k pydantic models would
    cost ~10x the memory, and only the day's top videos are ever turned into models."""

    model_config = ConfigDict(extra="ignore")

    schemaVersion: int = SCHEMA_VERSION
    catalogueCursor: str | None = None  # newest `created` listed so far
    videos: dict[str, dict] = Field(default_factory=dict)


def _entry(video: VideoMetadata) -> dict:
    return video.model_dump(exclude={"uid"})


class CacheStats(BaseModel):
    requested: int = 0
    hits: int = 0
    listed: int = 0
    fetched: int = 0
    not_found: int = 0


class MetadataCache:
    def __init__(self, store: ObjectStore, bucket: str, *, warm_threshold: int = WARM_THRESHOLD):
        self.store, self.bucket, self.warm_threshold = store, bucket, warm_threshold

    def _load(self) -> tuple[CacheDocument, str | None]:
        obj = self.store.get(self.bucket, METADATA_CACHE_KEY)
        if obj is None:
            return CacheDocument(), None
        return CacheDocument.model_validate_json(obj.body), obj.etag

    def resolve(
        self, source: MetadataSource, uids: Sequence[str]
    ) -> tuple[dict[str, VideoMetadata], CacheStats]:
        """Metadata of every uid (404s as `found=False`), fetching only unknown videos."""
        doc, etag = self._load()
        stats = CacheStats(requested=len(uids))
        new: dict[str, dict] = {}
        cursor = doc.catalogueCursor
        unknown = [u for u in dict.fromkeys(uids) if u not in doc.videos]
        stats.hits = len(uids) - len(unknown)
        if len(unknown) > self.warm_threshold:
            for page in source.list_videos(created_after=cursor):
                for video in page:
                    new[video.uid] = _entry(video)
                    if video.created and (cursor is None or video.created > cursor):
                        cursor = video.created
            stats.listed = len(new)
            unknown = [u for u in unknown if u not in new]
        if unknown:
            fetched = source.get_videos(unknown)
            new.update({uid: _entry(v) for uid, v in fetched.items()})
            stats.fetched = len(fetched)
            stats.not_found = sum(not v.found for v in fetched.values())
        if new or cursor != doc.catalogueCursor:
            doc = self._save(doc, etag, new, cursor)
        return {u: VideoMetadata(uid=u, **doc.videos[u]) for u in uids}, stats

    def _save(
        self, doc: CacheDocument, etag: str | None, new: dict[str, dict], cursor: str | None
    ) -> CacheDocument:
        for _ in range(SAVE_ATTEMPTS):
            merged = CacheDocument(
                catalogueCursor=max(filter(None, [doc.catalogueCursor, cursor]), default=None),
                videos={**doc.videos, **new},
            )
            body = jsonbytes.dumps(merged)
            try:
                self.store.put(
                    self.bucket,
                    METADATA_CACHE_KEY,
                    body,
                    cache_control="private, max-age=0",
                    if_match=etag,
                    if_none_match=etag is None,
                )
                return merged
            except PreconditionFailed:
                doc, etag = self._load()  # another run saved first: merge onto its version
        raise PreconditionFailed(
            f"could not save {METADATA_CACHE_KEY}: it kept changing under {SAVE_ATTEMPTS} attempts"
        )
