"""The sampler: every `LIVE_SAMPLE_SECONDS`, one reading of the platform's Redis into the
spool; finished hours go to `PRIVATE_BUCKET` from a thread beside it (`upload.py`).

Ticks keep to a fixed grid on the process's monotonic clock (a slow reading skips ticks, it
never shifts the grid), while each sample's instant is Redis `TIME`. A Redis that does not
answer leaves a gap: said once when it starts, once when Redis answers again (with its
length), and nothing is written for it. Credentials or permissions that Redis refuses stop
the sampler in one line: waiting would not fix them.

The reader, the clock and the sleep are arguments, so that tests drive the sampler with
hand-made readings at chosen instants (known answers, DST days) as well as with a real Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from ..reports.live import instants
from ..reports.live.samples import (
    InfoLine,
    IvsLine,
    ReadInfo,
    SampleLine,
    StageInfo,
    StagesLine,
)
from .reader import HeartbeatScan, Reading, RedisUnavailable
from .spool import Spool


class Reader(Protocol):
    def scan_stages(self) -> list[str]: ...

    def read(self, arns: Sequence[str]) -> Reading: ...

    def scan_heartbeats(self, arns: Sequence[str], fresh_ms: int) -> HeartbeatScan: ...


class Reconciler(Protocol):
    """Compares some stages with the IVS API each pass (`ivs.py`)."""

    def reconcile(self, at_us: int, counters: dict[str, int | None]) -> list[IvsLine]: ...


class Sampler:
    def __init__(
        self,
        reader: Reader,
        spool: Spool,
        *,
        interval_seconds: float,
        rescan_samples: int,
        timezone: str,
        say: Callable[[str], None] = print,
        monotonic: Callable[[], float] = time.monotonic,
        wall_us: Callable[[], int] = lambda: time.time_ns() // 1000,
        heartbeat_scan_seconds: float | None = None,
        fresh_seconds: float = 60.0,
        reconciler: Reconciler | None = None,
        reconcile_seconds: float = 60.0,
    ):
        self.reader, self.spool = reader, spool
        self.interval = interval_seconds
        self.interval_ms = round(interval_seconds * 1000)
        self.rescan_samples, self.timezone = rescan_samples, timezone
        self.say, self.monotonic, self.wall_us = say, monotonic, wall_us
        self.arns: list[str] | None = None
        self.since_scan = 0
        self.remainder: int | None = None  # total - sum of stage counters after the last scan
        self.info = spool.load_info()  # ARN -> (instant read, info)
        self.hour: int | None = None  # the hour this process last wrote to
        self.last: tuple[int, float] | None = None  # (Redis instant, monotonic) of last sample
        self.down_since: tuple[int | None, str] | None = None
        self.said: set[str] = set()
        self.samples = 0
        self.lock = threading.Lock()
        # heartbeat scans (HSCAN, every `heartbeat_scan_seconds` on the Redis clock)
        self.scan_us = None if heartbeat_scan_seconds is None else heartbeat_scan_seconds * 1e6
        self.fresh_ms = round(fresh_seconds * 1000)
        self.last_scan: int | None = None
        self.reconciler, self.reconcile_us = reconciler, reconcile_seconds * 1e6
        self.last_reconcile: int | None = None
        self.write_lock = threading.Lock()  # the sampling and a background reconciler

    # -- the Redis clock, for the upload thread ---------------------------------------------

    def ended_before(self) -> int | None:
        """The instant before which every hour has ended, on the Redis clock: the last
        sample's instant (samples only move forward), or, while Redis is silent, that instant
        plus the time since, less a margin (a clock estimate, so a Redis clock that differs
        from this machine's does not matter). None before this process tried a first read."""
        with self.lock:
            last, down = self.last, self.down_since
        margin = max(60.0, 3 * self.interval) * instants.US
        if last is None:
            return None if down is None else self.wall_us() - int(margin)
        at, mono = last
        estimate = at + int((self.monotonic() - mono) * instants.US) - int(margin)
        return max(at + 1, estimate)

    # -- one tick -----------------------------------------------------------------------------

    def tick(self) -> Reading | None:
        """One sample into the spool; None when Redis did not answer (a gap)."""
        try:
            reading = self._read()
        except RedisUnavailable as exc:
            with self.lock:
                if self.down_since is None:
                    self.down_since = (None if self.last is None else self.last[0], str(exc))
                    since = (
                        f"the last sample was at {instants.text(self.last[0])}"
                        if self.last
                        else "no sample yet"
                    )
                    self.say(
                        f"redis unreachable ({exc}); {since}: sampling stops until it answers "
                        "and that time is a gap"
                    )
            return None
        scan = self._scan(reading)
        ivs = self._reconcile(reading)
        self._write(reading, scan, ivs)
        with self.lock:
            if self.down_since is not None:
                before = self.down_since[0]
                gap = "" if before is None else f" after {(reading.at_us - before) / 1e6:.1f} s"
                self.say(f"redis answers again{gap}: sampling resumed")
                self.down_since = None
            self.last = (reading.at_us, self.monotonic())
        for problem in reading.problems:
            if problem not in self.said:
                self.said.add(problem)
                self.say(f"warning: {problem} (recorded as null; said once)")
        self.samples += 1
        return reading

    def _read(self) -> Reading:
        scanned = False
        if self.arns is None or self.since_scan >= self.rescan_samples:
            self.arns, scanned = self.reader.scan_stages(), True
            self.since_scan = 0
        reading = self.reader.read(self.arns)
        remainder = _remainder(reading)
        if not scanned and remainder != self.remainder:
            # the stages no longer add up to the total as they did: look for a new stage now,
            # and read again if there is one, so that no sample misses it
            arns = self.reader.scan_stages()
            scanned, self.since_scan = True, 0
            if arns != self.arns:
                self.arns = arns
                reading = self.reader.read(arns)
                remainder = _remainder(reading)
        if scanned:
            self.remainder = remainder
        self.since_scan += 1
        return reading

    def _due(self, last: int | None, every_us: float, at_us: int) -> bool:
        """Due at the first sample at least `every_us` after the last time (half an interval
        early, so that a grid of samples does not skip a whole interval)."""
        return last is None or at_us - last >= every_us - self.interval * 1e6 / 2

    def _scan(self, reading: Reading) -> HeartbeatScan | None:
        """The heartbeat scan, when one is due; a Redis that stops answering during it costs
        the scan, not the sample (said once, like a gap)."""
        if self.scan_us is None or not self._due(self.last_scan, self.scan_us, reading.at_us):
            return None
        assert self.arns is not None
        try:
            scan = self.reader.scan_heartbeats(self.arns, self.fresh_ms)
        except RedisUnavailable as exc:
            self._say_once(f"heartbeat scan failed ({exc}): the next one is tried next sample")
            return None
        self.last_scan = reading.at_us
        return scan

    def _reconcile(self, reading: Reading) -> list[IvsLine]:
        if self.reconciler is None:
            return []
        if not self._due(self.last_reconcile, self.reconcile_us, reading.at_us):
            return []
        assert self.arns is not None
        self.last_reconcile = reading.at_us
        counters = dict(zip(self.arns, reading.viewers, strict=True))
        return self.reconciler.reconcile(reading.at_us, counters)

    def _say_once(self, text: str) -> None:
        key = text.split(" (")[0]
        if key not in self.said:
            self.said.add(key)
            self.say(f"warning: {text} (said once)")

    def _write(
        self, reading: Reading, scan: HeartbeatScan | None = None, ivs: Sequence[IvsLine] = ()
    ) -> None:
        assert self.arns is not None
        hour = instants.hour_start(reading.at_us, self.timezone)
        lines: list[StagesLine | InfoLine | SampleLine | IvsLine] = []
        changed = [
            a
            for a, v in reading.info.items()
            if v is not None and (a not in self.info or self.info[a][1] != v)
        ]
        for arn in changed:
            self.info[arn] = (reading.at_us, reading.info[arn])
        if hour != self.hour:  # a new hour file, or this process's first line in it
            lines.append(StagesLine(arns=self.arns))
            known = [a for a in self.arns if a in self.info and self.info[a][1] is not None]
            if known:
                lines.append(self._info_line(known))
            self.written_arns = list(self.arns)
        else:
            if self.arns != self.written_arns:
                lines.append(StagesLine(arns=self.arns))
                self.written_arns = list(self.arns)
            if changed:
                lines.append(self._info_line(changed))
        lines.append(
            SampleLine(
                at=instants.text(reading.at_us),
                intervalMs=self.interval_ms,
                total=reading.total,
                publisher=reading.publisher,
                viewers=reading.viewers,
                heartbeats=reading.heartbeats,
                infoMissing=None
                if reading.info_absent is None
                else [i for i, absent in enumerate(reading.info_absent) if absent],
                freshAt=None if scan is None else instants.text(scan.at_us),
                fresh=None if scan is None else list(scan.fresh),
                unparsable=None if scan is None else list(scan.unparsable),
            )
        )
        lines.extend(ivs)
        with self.write_lock:
            self.spool.append(hour, lines)
        self.hour = hour
        if changed:
            self.spool.save_info(self.info)

    def write_lines(self, at_us: int, lines: Sequence[IvsLine]) -> None:
        """Lines of a reconciliation made beside the sampling, into the hour of `at_us` (an
        hour already uploaded gets them in a later upload, merged with the stored file)."""
        with self.write_lock:
            self.spool.append(instants.hour_start(at_us, self.timezone), lines)

    def _info_line(self, arns: Sequence[str]) -> InfoLine:
        info = {}
        for arn in arns:
            at, value = self.info[arn]
            assert value is not None
            info[arn] = ReadInfo(readAt=instants.text(at), **value.model_dump())
        return InfoLine(info=info)

    # -- the loop -----------------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event,
        *,
        on_tick: Callable[[], None] | None = None,
        until: float | None = None,
    ) -> None:
        """Tick on the grid until `stop` is set (or `until`, a monotonic instant, passes)."""
        start = self.monotonic()
        n = 0
        while not stop.is_set():
            now = self.monotonic()
            if until is not None and now >= until:
                return
            self.tick()
            if on_tick is not None:
                on_tick()
            n = max(n + 1, int((self.monotonic() - start) / self.interval) + 1)
            wait = start + n * self.interval - self.monotonic()
            if until is not None:
                wait = min(wait, until - self.monotonic())
            if wait > 0:
                stop.wait(wait)


def _remainder(reading: Reading) -> int:
    return (reading.total or 0) - sum(v or 0 for v in reading.viewers)


__all__ = ["Reader", "Sampler", "StageInfo"]
