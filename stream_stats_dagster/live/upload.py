"""Finished hours, from the spool to `PRIVATE_BUCKET`, in a thread of their own.

The sampler itself uploads (a run pod on Kubernetes cannot mount the sampler's single-node
volume). Uploads run beside the sampling, so a slow or absent R2 never delays a sample. An
hour leaves the spool only once its object's ETag equals the MD5 of the bytes built (a
verified upload); until then it stays, and the next pass tries again. An outage is said once
when it starts and once when uploads resume.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from .. import keys
from ..reports.live import instants
from ..reports.live.samples import HourFile, build_hour, hour_bytes
from ..storage.base import ObjectStore, StorageError, md5_hex
from .spool import Spool

CACHE_CONTROL = "private, max-age=3600"
RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class Uploaded:
    hour_us: int
    key: str
    bytes: int
    samples: int
    stages: int


def hour_key(hour_us: int) -> str:
    return keys.live_samples_key(instants.to_datetime(hour_us))


def upload_hour(
    spool: Spool,
    store: ObjectStore,
    bucket: str,
    hour_us: int,
    timezone: str,
    key_prefix: str,
    say: Callable[[str], None] = print,
) -> Uploaded:
    """Build an ended hour's file from its spool lines, store it, verify it, and only then
    clear it from the spool. A file already stored for the hour (a sampler killed between the
    upload and the clearing, or a sample that came late) is merged, never dropped."""
    key = hour_key(hour_us)
    stored = store.get(bucket, key)
    earlier = None
    if stored is not None:
        try:
            earlier = HourFile.model_validate_json(stored.body)
        except (ValidationError, ValueError) as exc:
            reason = str(exc).splitlines()[0]
            say(f"{bucket}/{key} does not parse ({reason}): replaced by the spool's hour")
    hour = build_hour(spool.lines(hour_us), hour_us, timezone, key_prefix, earlier)
    body = hour_bytes(hour)
    store.put(bucket, key, body, cache_control=CACHE_CONTROL)
    etag = store.head(bucket, key)
    if etag != md5_hex(body):
        raise StorageError(f"{bucket}/{key}: stored ETag {etag} is not the MD5 of the upload")
    spool.remove(hour_us)
    return Uploaded(hour_us, key, len(body), len(hour.samples.at), len(hour.stages))


class UploadWorker(threading.Thread):
    """Uploads every spool hour that has ended, as `ended_before()` says (an instant in
    microseconds on the Redis clock), whenever woken and at least every few seconds."""

    def __init__(
        self,
        spool: Spool,
        store: ObjectStore,
        bucket: str,
        timezone: str,
        key_prefix: str,
        ended_before: Callable[[], int | None],
        say: Callable[[str], None] = print,
        poll_seconds: float = 5.0,
    ):
        super().__init__(name="live-uploads", daemon=True)
        self.spool, self.store, self.bucket = spool, store, bucket
        self.timezone, self.key_prefix = timezone, key_prefix
        self.ended_before, self.say, self.poll = ended_before, say, poll_seconds
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.failing_since: float | None = None
        self.retry_at = 0.0
        self.uploaded: list[Uploaded] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(self.poll)
            self.wake.clear()
            self.pass_once()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def pass_once(self, now: Callable[[], float] | None = None) -> list[Uploaded]:
        """Upload the ended hours now (unless an outage's retry is not due yet)."""
        clock = now or time.monotonic
        if clock() < self.retry_at:
            return []
        limit = self.ended_before()
        if limit is None:
            return []
        done = []
        for hour in self.spool.hours():
            if hour + instants.HOUR_US > limit or self.stopping.is_set():
                break
            try:
                up = upload_hour(
                    self.spool,
                    self.store,
                    self.bucket,
                    hour,
                    self.timezone,
                    self.key_prefix,
                    self.say,
                )
            except StorageError as exc:
                if self.failing_since is None:
                    self.failing_since = clock()
                    self.say(
                        f"upload of {_hour(hour)} failed: {exc}; the spool keeps it, "
                        f"retrying every {RETRY_SECONDS:.0f} s"
                    )
                self.retry_at = clock() + RETRY_SECONDS
                break
            if self.failing_since is not None:
                self.say(f"uploads resumed after {clock() - self.failing_since:.0f} s")
                self.failing_since = None
            self.say(
                f"uploaded {_hour(hour)}: {up.samples} samples, {up.stages} stages, "
                f"{up.bytes:,} bytes -> {self.bucket}/{up.key}"
            )
            done.append(up)
        self.uploaded.extend(done)
        return done


def _hour(hour_us: int) -> str:
    return f"hour {instants.to_datetime(hour_us).astimezone(dt.UTC):%Y-%m-%dT%H:%MZ}"
