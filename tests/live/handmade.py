"""Hand-made sample series for known-answer tests: scripted readings at chosen instants go
through the real sampler (its clock injected), its spool and the hour files it uploads."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stream_stats_dagster.live.reader import Reading
from stream_stats_dagster.live.sampler import Sampler
from stream_stats_dagster.live.spool import Spool
from stream_stats_dagster.reports.live import instants
from stream_stats_dagster.reports.live.samples import HourFile, StageInfo, build_hour

ARN = "arn:aws:ivs:ap-northeast-1:123456789012:stage/"


@dataclass
class Moment:
    """What Redis holds at one sample: `at` in RFC 3339, the total, stage counters."""

    at: str
    total: int | None
    stages: dict[str, int | None] = field(default_factory=dict)
    publisher: str | None = "live"
    info: dict[str, StageInfo | None] = field(default_factory=dict)


class ScriptedReader:
    """Answers the sampler's reads with the moments, in order."""

    def __init__(self, moments: Sequence[Moment]):
        self.moments = list(moments)
        self.next = 0

    def scan_stages(self) -> list[str]:
        return sorted(self.moments[self.next].stages)

    def read(self, arns: Sequence[str]) -> Reading:
        m = self.moments[self.next]
        self.next += 1
        return Reading(
            at_us=instants.parse(m.at),
            total=m.total,
            publisher=m.publisher,
            viewers=[m.stages.get(a) for a in arns],
            heartbeats=[m.stages.get(a) or 0 for a in arns],
            info={a: m.info.get(a) for a in arns},
        )


def sample(
    tmp: Path, moments: Sequence[Moment], timezone: str, interval: float = 15.0
) -> list[HourFile]:
    """The hour files the sampler writes for `moments` (one tick each)."""
    spool = Spool(tmp / "spool")
    clock = itertools.count()
    sampler = Sampler(
        ScriptedReader(moments),
        spool,
        interval_seconds=interval,
        rescan_samples=1000,
        timezone=timezone,
        say=lambda line: None,
        monotonic=lambda: float(next(clock)),
    )
    for _ in moments:
        assert sampler.tick() is not None
    return [build_hour(spool.lines(h), h, timezone, "ivs:prod:") for h in spool.hours()]
