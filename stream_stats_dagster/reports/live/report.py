"""A day's live audience from its hour files: `LiveViewersDoc` (contract §10).

What a sample stands for. Sample i (instant t_i, interval I_i) holds its values until the
next sample when that comes within two intervals (jitter, one slow or missed tick), and for
one interval otherwise; the time after that, until the next sample, is a gap. The day's
figures are integrals of that step function over the day's seconds (so a sample taken just
before midnight counts for the seconds it holds after it), and its peaks are over the
samples taken inside the day. Everything is integer microseconds until the final rounding,
so the numbers are exact for the samples and the same samples give the same bytes.

- viewer-minutes: the integral of a counter (the platform's `total_viewers`, a stage's
  `viewers:{arn}`) over time, in minutes;
- average while a stage had viewers: its viewer-minutes over the minutes its counter was
  above zero;
- coverage: the seconds of the day that some sample holds, and the gaps between them;
- a stage "had viewers" at a sample when its counter was above zero; the stages with
  viewers at one sample are the stages "at once".

The day reads its own hour files and the hours just before and after it (for the samples
that hold across midnight). Counters that are absent or not integers count as zero;
the sample files keep them as null.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ...dates import ReportDay
from . import instants
from .document import Coverage, Gap, HourTrend, LiveViewersDoc, Platform, StageDay
from .samples import HourFile, HourStage

FOLLOW_INTERVALS = 2  # a next sample within this many intervals continues the coverage
MINUTE_US = 60 * instants.US


@dataclass
class Series:
    """Samples of several hour files as columns, by instant, over one table of stages."""

    at: np.ndarray  # int64 microseconds, strictly increasing
    interval: np.ndarray  # int64 microseconds
    total: np.ndarray  # int64 (absent: 0)
    total_known: np.ndarray  # bool
    live: np.ndarray  # bool: publisher status "live"
    arns: list[str]
    viewers: np.ndarray  # int64 [sample, stage] (absent: 0)
    info: dict[str, HourStage]
    key_prefix: str | None


def series(hours: Iterable[HourFile]) -> Series:
    """One series from hour files (in any order; an instant in two files is kept once)."""
    files = sorted(hours, key=lambda h: h.hourStart)
    arns = sorted({s.stageArn for h in files for s in h.stages})
    index = {a: i for i, a in enumerate(arns)}
    info: dict[str, HourStage] = {}
    at, interval, total, known, live, blocks = [], [], [], [], [], []
    for h in files:
        for s in h.stages:
            old = info.get(s.stageArn)
            newer = bool(s.infoReadAt) and (old is None or (old.infoReadAt or "") <= s.infoReadAt)
            if old is None or newer:  # the info read last, wherever it is
                info[s.stageArn] = s
        c = h.samples
        at += [instants.parse(t) for t in c.at]
        interval += [ms * 1000 for ms in c.intervalMs]
        total += [t or 0 for t in c.total]
        known += [t is not None for t in c.total]
        live += [p == "live" for p in c.publisher]
        block = np.zeros((len(c.at), len(arns)), dtype=np.int64)
        if c.at and h.stages:
            values = np.array(c.viewers, dtype=np.float64)  # None -> NaN
            cols = [index[s.stageArn] for s in h.stages]
            block[:, cols] = np.nan_to_num(values, nan=0.0).astype(np.int64)
        blocks.append(block)
    times = np.array(at, dtype=np.int64)
    order = np.argsort(times, kind="stable")
    times = times[order]
    keep = np.ones(len(times), dtype=bool)
    keep[1:] = times[1:] != times[:-1]
    pick = order[keep]
    matrix = np.vstack(blocks) if blocks else np.zeros((0, len(arns)), dtype=np.int64)
    return Series(
        at=times[keep],
        interval=np.array(interval, dtype=np.int64)[pick],
        total=np.array(total, dtype=np.int64)[pick],
        total_known=np.array(known, dtype=bool)[pick],
        live=np.array(live, dtype=bool)[pick],
        arns=arns,
        viewers=matrix[pick] if len(pick) else matrix,
        info=info,
        key_prefix=files[0].keyPrefix if files else None,
    )


def holds(s: Series, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's held time clipped to [start, end): (from, to) in microseconds."""
    n = len(s.at)
    until = s.at + s.interval
    if n > 1:
        step = s.at[1:] - s.at[:-1]
        follows = step <= FOLLOW_INTERVALS * s.interval[:-1]
        until[:-1] = np.where(follows, s.at[1:], until[:-1])
    a = np.clip(s.at, start, end)
    b = np.clip(until, start, end)
    return a, np.maximum(a, b)


def gaps_of(a: np.ndarray, b: np.ndarray, start: int, end: int) -> list[tuple[int, int]]:
    """The parts of [start, end) that no held interval [a_i, b_i) covers (holds never
    overlap: each ends at or before the next sample)."""
    out, cursor = [], start
    for lo, hi in zip(a[b > a].tolist(), b[b > a].tolist(), strict=True):
        if lo > cursor:
            out.append((cursor, lo))
        cursor = max(cursor, hi)
    if cursor < end:
        out.append((cursor, end))
    return out


def minutes(us: int) -> float:
    return round(int(us) / MINUTE_US, 3)


def seconds(us: int) -> float:
    return round(int(us) / instants.US, 6)


def live_viewers(day: dt.date, timezone: str, hours: Iterable[HourFile]) -> LiveViewersDoc:
    """The day's document from the hour files of the day and its neighbours."""
    rd = ReportDay(day, timezone)
    start, end = instants.of(rd.start_utc), instants.of(rd.end_utc)
    s = series(hours)
    a, b = holds(s, start, end)
    held = b - a
    idx = np.flatnonzero(held > 0)  # the samples that hold some of the day

    gaps = [
        Gap(start=instants.text(lo), end=instants.text(hi), seconds=seconds(hi - lo))
        for lo, hi in gaps_of(a, b, start, end)
    ]
    coverage = Coverage(
        daySeconds=(end - start) // instants.US,
        sampledSeconds=seconds(held.sum()),
        share=round(int(held.sum()) / (end - start), 6),
        samples=int(((s.at >= start) & (s.at < end)).sum()),
        gaps=gaps,
    )

    peak, peak_at = _peak(s.total, s.total_known, a, idx)
    active = (s.viewers[idx] > 0).sum(axis=1) if len(idx) else np.zeros(0, dtype=np.int64)
    most = int(active.max()) if len(active) else 0
    platform = Platform(
        peakViewers=peak,
        peakAt=peak_at,
        viewerMinutes=minutes((s.total * held).sum()),
        publisherLiveMinutes=minutes(held[s.live].sum()),
        maxStages=most,
        maxStagesAt=instants.text(int(a[idx[int(active.argmax())]])) if most else None,
        hourlyTrend=_hourly(s, a, b, rd, timezone),
    )
    return LiveViewersDoc(
        date=day.isoformat(),
        timezone=timezone,
        dayStart=instants.text(start),
        dayEnd=instants.text(end),
        keyPrefix=s.key_prefix,
        coverage=coverage,
        platform=platform,
        stages=_stages(s, held, idx, a),
    )


def _peak(
    values: np.ndarray, known: np.ndarray, at: np.ndarray, idx: np.ndarray
) -> tuple[int | None, str | None]:
    """The largest known value among the samples `idx`, and the first of their instants
    `at` (clipped to the day or hour they hold) that holds it."""
    idx = idx[known[idx]]
    if not len(idx):
        return None, None
    i = idx[int(values[idx].argmax())]
    return int(values[i]), instants.text(int(at[i]))


def _hourly(
    s: Series, a: np.ndarray, b: np.ndarray, rd: ReportDay, timezone: str
) -> list[HourTrend]:
    out = []
    for local in rd.local_hours():
        lo = instants.of(local)
        hi = lo + instants.HOUR_US
        overlap = np.maximum(0, np.minimum(b, hi) - np.maximum(a, lo))
        idx = np.flatnonzero(overlap > 0)
        peak, _ = _peak(s.total, s.total_known, np.maximum(a, lo), idx)
        out.append(
            HourTrend(
                hour=instants.local_label(lo, timezone),
                peakViewers=peak,
                viewerMinutes=minutes((s.total * overlap).sum()),
                publisherLiveMinutes=minutes(overlap[s.live].sum()),
                sampledSeconds=seconds(overlap.sum()),
            )
        )
    return out


def _stages(s: Series, held: np.ndarray, idx: np.ndarray, when: np.ndarray) -> list[StageDay]:
    """Each stage that had viewers during the day; `idx` are the samples holding some of the
    day, `when` each sample's first instant in the day."""
    if not s.arns:
        return []
    v = s.viewers
    viewer_us = (v * held[:, None]).sum(axis=0)
    with_viewers_us = ((v > 0) * held[:, None]).sum(axis=0)
    inside = v[idx]
    positive = inside > 0
    out = []
    for j, arn in enumerate(s.arns):
        had = positive[:, j]
        if not had.any() and viewer_us[j] == 0:
            continue
        column = inside[:, j]
        peak = int(column.max()) if len(column) else 0
        info = s.info.get(arn)
        seen = np.flatnonzero(had)
        out.append(
            StageDay(
                stageArn=arn,
                name=info.name if info else None,
                autoScaled=info.autoScaled if info else None,
                parentStage=info.parentStage if info else None,
                peakViewers=peak,
                peakAt=instants.text(int(when[idx[int(column.argmax())]])) if peak > 0 else None,
                averageViewers=(
                    round(int(viewer_us[j]) / int(with_viewers_us[j]), 3)
                    if with_viewers_us[j] > 0
                    else None
                ),
                viewerMinutes=minutes(viewer_us[j]),
                firstSeen=instants.text(int(when[idx[seen[0]]])) if len(seen) else None,
                lastSeen=instants.text(int(when[idx[seen[-1]]])) if len(seen) else None,
            )
        )
    out.sort(key=lambda st: (-st.viewerMinutes, st.stageArn))
    return out
