"""The day's live audience document (contract §10) and its checks.

`stream-stats/live/YYYY-MM/YYYY-MM-DD-live-viewers.json` in `PRIVATE_BUCKET`. Instants are
RFC 3339 UTC with microseconds (the samples' Redis `TIME`); local hours are labelled with
their offset, so the repeated hour of a DST fall-back appears twice with two offsets.
Minutes and seconds are rounded once, from exact integer microseconds (3 decimals for
minutes and averages, 6 for seconds and shares): the same samples give the same bytes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from . import instants


class Gap(BaseModel):
    start: str
    end: str
    seconds: float


class Coverage(BaseModel):
    daySeconds: int  # 86400, or 82800 / 90000 on DST change days
    sampledSeconds: float
    share: float  # sampledSeconds / daySeconds
    samples: int  # samples taken inside the day
    gaps: list[Gap]


class HourTrend(BaseModel):
    hour: str  # local hour start, e.g. 2025-03-11T00:00:00+09:00
    peakViewers: int | None  # None: no sample in the hour
    viewerMinutes: float
    publisherLiveMinutes: float
    sampledSeconds: float


class Platform(BaseModel):
    peakViewers: int | None
    peakAt: str | None
    viewerMinutes: float
    publisherLiveMinutes: float
    maxStages: int  # the most stages with viewers at one sample
    maxStagesAt: str | None
    hourlyTrend: list[HourTrend]


class StageDay(BaseModel):
    stageArn: str
    name: str | None
    autoScaled: bool | None
    parentStage: str | None
    peakViewers: int
    peakAt: str | None
    averageViewers: float | None  # time-weighted, over the time the stage had viewers
    viewerMinutes: float
    firstSeen: str | None  # first and last sample of the day at which it had viewers
    lastSeen: str | None


class LiveViewersDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schemaVersion: Literal[1] = 1
    date: str
    timezone: str
    dayStart: str
    dayEnd: str
    keyPrefix: str | None
    coverage: Coverage
    platform: Platform
    stages: list[StageDay]


# -- checks (contract §10): each returns the problems it found, none when the day is sound -----

MINUTE_TOLERANCE = 0.0005  # one rounding of a minute figure to 3 decimals
SECOND_TOLERANCE = 0.0000005


def coverage_adds_up(doc: LiveViewersDoc) -> list[str]:
    """Sampled seconds and gap seconds add up to the day; gaps lie inside it, in order."""
    c = doc.coverage
    problems = []
    gaps = sum(g.seconds for g in c.gaps)
    if abs(c.sampledSeconds + gaps - c.daySeconds) > SECOND_TOLERANCE * (len(c.gaps) + 2):
        problems.append(
            f"sampled {c.sampledSeconds} s + gaps {gaps:.6f} s != the day's {c.daySeconds} s"
        )
    start, end = instants.parse(doc.dayStart), instants.parse(doc.dayEnd)
    if (end - start) != c.daySeconds * instants.US:
        problems.append(f"{doc.dayStart}..{doc.dayEnd} is not {c.daySeconds} s")
    previous = start
    for g in c.gaps:
        a, b = instants.parse(g.start), instants.parse(g.end)
        if not (previous <= a < b <= end):
            problems.append(f"gap {g.start}..{g.end} overlaps another or leaves the day")
            break
        previous = b
    return problems


def hours_add_up(doc: LiveViewersDoc) -> list[str]:
    """The hourly trend has one entry per local hour and adds up to the day's figures."""
    p, c = doc.platform, doc.coverage
    problems = []
    if len(p.hourlyTrend) * 3600 != c.daySeconds:
        problems.append(f"{len(p.hourlyTrend)} hours in a day of {c.daySeconds} s")
    n = len(p.hourlyTrend) + 1
    for name, total, parts, tol in (
        ("viewer-minutes", p.viewerMinutes, [h.viewerMinutes for h in p.hourlyTrend], 0),
        (
            "publisher-live minutes",
            p.publisherLiveMinutes,
            [h.publisherLiveMinutes for h in p.hourlyTrend],
            0,
        ),
        ("sampled seconds", c.sampledSeconds, [h.sampledSeconds for h in p.hourlyTrend], 1),
    ):
        allowed = (SECOND_TOLERANCE if tol else MINUTE_TOLERANCE) * n
        if abs(sum(parts) - total) > allowed:
            problems.append(f"hourly {name} add up to {sum(parts):.6f}, not {total}")
    peaks = [h.peakViewers for h in p.hourlyTrend if h.peakViewers is not None]
    if (max(peaks) if peaks else None) != p.peakViewers:
        problems.append(f"the hours' peak {max(peaks) if peaks else None} != {p.peakViewers}")
    return problems


def stages_consistent(doc: LiveViewersDoc) -> list[str]:
    """Each stage once, ordered; average ≤ peak; first seen ≤ peak ≤ last seen, in the day."""
    problems = []
    arns = [s.stageArn for s in doc.stages]
    if len(set(arns)) != len(arns):
        problems.append("a stage is listed twice")
    order = [(-s.viewerMinutes, s.stageArn) for s in doc.stages]
    if order != sorted(order):
        problems.append("stages not ordered by viewer-minutes, then ARN")
    start, end = instants.parse(doc.dayStart), instants.parse(doc.dayEnd)
    for s in doc.stages:
        if s.averageViewers is not None and s.averageViewers > s.peakViewers + 0.0005:
            problems.append(f"{s.stageArn}: average {s.averageViewers} above peak")
        seen = [s.firstSeen, s.peakAt, s.lastSeen]
        if any(t is not None for t in seen):
            if any(t is None for t in seen):
                problems.append(f"{s.stageArn}: first seen, peak and last seen not all known")
                continue
            first, peak, last = (instants.parse(t) for t in seen)  # type: ignore[arg-type]
            if not (start <= first <= peak <= last < end):
                problems.append(f"{s.stageArn}: first seen, peak, last seen out of order")
    return problems[:10]


CHECKS = {
    "coverage_adds_up": coverage_adds_up,
    "hours_add_up": hours_add_up,
    "stages_consistent": stages_consistent,
}
