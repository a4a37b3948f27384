"""How far a day's live counts are off, and where it comes from: `LiveDriftDoc`.

`stream-stats/live/YYYY-MM/YYYY-MM-DD-live-drift.json` in `PRIVATE_BUCKET`, beside
`live_viewers`, from the same hour files. The platform's counters are INCR/DECR'd by its API
(seed 003); they drift from the truth when a leave is never sent, the cleanup of silent
viewers stops, an API restart loses a counter, or a write is lost with a Redis connection.
What the samples can compare (docs/live.md, "Drift"):

- the total against the sum of the stage counters, at every sample;
- each stage's counter against its heartbeat hash: `HLEN` at every sample, and the fresh
  heartbeats (updated in the last 60 s by Redis TIME) at every heartbeat scan (every 60 s);
- negative counters, and counters of stages whose `stage:{arn}` info key has expired;
- each stage's counter against its CONNECTED participants in IVS, at the reconciliations
  the sampler made (`live/ivs.py`).

A comparison holds like a sample holds (`report.holds`: until the next sample within two
intervals, else one interval); a heartbeat scan's comparison (the counter and the fresh
heartbeats read at the same tick) holds until the next scan, as long as samples follow each
other. An episode is a run of consecutive held samples where the difference is not zero:
its start is its first sample's instant, its end the end of its last sample's hold, so an
episode is within one sample interval of the drift that made it (one scan interval for
fresh heartbeats). Differences are signed: counter minus reference (a positive difference
counts viewers who are not there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ...config import DriftLimits
from ...dates import ReportDay
from . import instants
from .report import holds, minutes
from .samples import HourFile, HourStage, Reconciliation

MAX_EPISODES = 10  # per comparison, the largest first


class Episode(BaseModel):
    start: str
    end: str
    minutes: float
    first: int  # the difference at its start
    worst: int  # the largest difference (by size, signed)
    worstAt: str


class Drift(BaseModel):
    """One comparison over the day: counter (or total) minus its reference."""

    samples: int  # samples (or scans) compared inside the day
    driftSamples: int  # of which the difference was not zero
    minutes: float  # held time with a difference
    worst: int  # 0 when none
    worstAt: str | None
    worstLastedMinutes: float  # the episode holding the worst
    episodes: int
    largest: list[Episode]  # at most MAX_EPISODES, by |worst| then start


class Negative(BaseModel):
    minutes: float
    lowest: int
    lowestAt: str
    first: str
    last: str  # start of the last sample with a negative counter


class ExpiredInfo(BaseModel):
    """A counter that is not zero while the stage's `stage:{arn}` key is absent."""

    minutes: float
    largest: int
    largestAt: str
    first: str
    last: str


class IvsPoint(BaseModel):
    at: str
    sessionId: str | None
    counter: int | None
    connected: int
    difference: int | None  # counter - connected


class StageDrift(BaseModel):
    stageArn: str
    name: str | None
    counterVsHeartbeats: Drift | None  # counter - HLEN
    counterVsFresh: Drift | None  # counter - fresh heartbeats (None: no heartbeat scan)
    unparsableHeartbeats: int  # the most at one scan
    negative: Negative | None
    expiredInfo: ExpiredInfo | None
    ivs: list[IvsPoint]
    ivsWorst: int | None  # the largest counter - IVS difference (signed), None: not reconciled


class IvsSummary(BaseModel):
    reconciliations: int
    stagesReconciled: int
    calls: int
    first: str | None
    last: str | None
    stagesOff: int  # stages with a reconciliation where the counter was not IVS's


class Measured(BaseModel):
    """What the day's files could compare (schema-1 hours measured neither scans nor infos)."""

    samples: int
    heartbeatScans: int
    samplesWithInfoPresence: int
    reconciliations: int


class LiveDriftDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schemaVersion: Literal[1] = 1
    date: str
    timezone: str
    dayStart: str
    dayEnd: str
    keyPrefix: str | None
    measured: Measured
    totalVsStages: Drift
    negativeTotal: Negative | None
    stagesWithDrift: int
    stages: list[StageDrift]  # only stages with some drift, the most off first
    ivs: IvsSummary


@dataclass
class DriftSeries:
    at: np.ndarray
    interval: np.ndarray
    total: np.ndarray
    total_known: np.ndarray
    arns: list[str]
    viewers: np.ndarray  # [sample, stage], absent: 0
    hlen: np.ndarray  # [sample, stage], absent: 0
    scan: np.ndarray  # bool [sample]: carries a heartbeat scan
    fresh: np.ndarray  # [sample, stage] (rows without a scan: 0)
    unparsable: np.ndarray
    info_measured: np.ndarray  # bool [sample]
    info_missing: np.ndarray  # bool [sample, stage]
    info: dict[str, HourStage]
    reconciliations: list[Reconciliation]
    key_prefix: str | None


def _block(rows: list, width: int, cols: list[int]) -> np.ndarray:
    """[sample][stage] values of one hour file (None -> 0) in the day's stage table."""
    out = np.zeros((len(rows), width), np.int64)
    if rows and cols:
        values = np.array(rows, dtype=np.float64)  # None -> NaN
        out[:, cols] = np.nan_to_num(values, nan=0.0).astype(np.int64)
    return out


def drift_series(hours: Iterable[HourFile]) -> DriftSeries:
    """One series from hour files (in any order; an instant in two files is kept once)."""
    files = sorted(hours, key=lambda h: h.hourStart)
    arns = sorted({s.stageArn for h in files for s in h.stages})
    index = {a: i for i, a in enumerate(arns)}
    width = len(arns)
    info: dict[str, HourStage] = {}
    recs: dict[tuple[str, str], Reconciliation] = {}
    at, interval, total, known, scan, measured = [], [], [], [], [], []
    viewers, hlen, fresh, unparsable, missing = [], [], [], [], []
    for h in files:
        for s in h.stages:
            old = info.get(s.stageArn)
            if old is None or (s.infoReadAt and (old.infoReadAt or "") <= s.infoReadAt):
                info[s.stageArn] = s
        for r in h.reconciliations or []:
            recs[(r.at, r.stageArn)] = r
        c, cols, n = h.samples, [index[s.stageArn] for s in h.stages], len(h.samples.at)
        at += [instants.parse(t) for t in c.at]
        interval += [ms * 1000 for ms in c.intervalMs]
        total += [t or 0 for t in c.total]
        known += [t is not None for t in c.total]
        viewers.append(_block(c.viewers, width, cols))
        hlen.append(_block(c.heartbeats, width, cols))
        rows = c.fresh or [None] * n
        scanned = [r is not None for r in rows]
        scan += scanned
        for column, out in ((c.fresh, fresh), (c.unparsable, unparsable)):
            block = np.zeros((n, width), np.int64)
            picked = [i for i in range(n) if scanned[i]]
            if picked and column is not None:
                block[picked] = _block([column[i] for i in picked], width, cols)
            out.append(block)
        gone = np.zeros((n, width), bool)
        present = c.infoMissing or [None] * n
        measured += [m is not None for m in present]
        for i, m in enumerate(present):
            if m:
                gone[i, [cols[j] for j in m]] = True
        missing.append(gone)
    times = np.array(at, np.int64)
    order = np.argsort(times, kind="stable")
    keep = np.ones(len(order), bool)
    keep[1:] = times[order][1:] != times[order][:-1]
    pick = order[keep]

    def stack(blocks: list, dtype) -> np.ndarray:
        if not blocks:
            return np.zeros((0, width), dtype)
        return np.vstack(blocks)[pick]

    return DriftSeries(
        at=times[pick],
        interval=np.array(interval, np.int64)[pick],
        total=np.array(total, np.int64)[pick],
        total_known=np.array(known, bool)[pick],
        arns=arns,
        viewers=stack(viewers, np.int64),
        hlen=stack(hlen, np.int64),
        scan=np.array(scan, bool)[pick],
        fresh=stack(fresh, np.int64),
        unparsable=stack(unparsable, np.int64),
        info_measured=np.array(measured, bool)[pick],
        info_missing=stack(missing, bool),
        info=info,
        reconciliations=[recs[k] for k in sorted(recs)],
        key_prefix=files[0].keyPrefix if files else None,
    )


def _drift(
    diff: np.ndarray, valid: np.ndarray, a: np.ndarray, b: np.ndarray, counted: np.ndarray
) -> Drift:
    """Episodes of `diff != 0` over the samples where `valid`, held over [a, b) (clipped to
    the day); `counted`: the samples (or scans) that count as compared inside the day."""
    held = b - a
    on = valid & (diff != 0) & (held > 0)
    follows = np.zeros(len(diff), bool)  # continues the episode of the sample before
    follows[1:] = on[1:] & on[:-1] & (a[1:] <= b[:-1])
    firsts = np.flatnonzero(on & ~follows)
    lasts = np.flatnonzero(on & ~np.append(follows[1:], False))
    episodes = list(zip(firsts.tolist(), lasts.tolist(), strict=True))
    built = []
    for lo, hi in episodes:
        part = diff[lo : hi + 1]
        j = lo + int(np.abs(part).argmax())
        built.append(
            Episode(
                start=instants.text(int(a[lo])),
                end=instants.text(int(b[hi])),
                minutes=minutes(int(held[lo : hi + 1][on[lo : hi + 1]].sum())),
                first=int(diff[lo]),
                worst=int(diff[j]),
                worstAt=instants.text(int(a[j])),
            )
        )
    worst = max(built, key=lambda e: (abs(e.worst), -instants.parse(e.start)), default=None)
    largest = sorted(built, key=lambda e: (-abs(e.worst), e.start))[:MAX_EPISODES]
    return Drift(
        samples=int(counted.sum()),
        driftSamples=int((on & counted).sum()),
        minutes=minutes(int(held[on].sum())),
        worst=worst.worst if worst else 0,
        worstAt=worst.worstAt if worst else None,
        worstLastedMinutes=worst.minutes if worst else 0.0,
        episodes=len(built),
        largest=largest,
    )


def _scan_holds(s: DriftSeries, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where each scan sample's hold ends: at the next scan, as long as samples follow each
    other (a gap ends it earlier)."""
    n = len(s.at)
    until = b.copy()
    i = 0
    while i < n:
        j = i
        while j + 1 < n and not s.scan[j + 1] and a[j + 1] <= b[j]:
            j += 1
        until[i] = b[j]
        i = j + 1
    return until


def _negative(v: np.ndarray, a: np.ndarray, b: np.ndarray, inside: np.ndarray) -> Negative | None:
    neg = (v < 0) & inside
    if not neg.any():
        return None
    idx = np.flatnonzero(neg)
    j = idx[int(v[idx].argmin())]
    return Negative(
        minutes=minutes(int((b - a)[neg].sum())),
        lowest=int(v[j]),
        lowestAt=instants.text(int(a[j])),
        first=instants.text(int(a[idx[0]])),
        last=instants.text(int(a[idx[-1]])),
    )


def live_drift(day: dt.date, timezone: str, hours: Iterable[HourFile]) -> LiveDriftDoc:
    """The day's drift document from the hour files of the day and its neighbours."""
    rd = ReportDay(day, timezone)
    start, end = instants.of(rd.start_utc), instants.of(rd.end_utc)
    s = drift_series(hours)
    a, b = holds(s, start, end)  # type: ignore[arg-type]  (the same columns as report.Series)
    inside = b > a
    in_day = (s.at >= start) & (s.at < end)
    stage_sum = s.viewers.sum(axis=1) if len(s.arns) else np.zeros(len(s.at), np.int64)
    total = _drift(s.total - stage_sum, s.total_known, a, b, in_day & s.total_known)
    scan_until = _scan_holds(s, a, b)
    scans = np.flatnonzero(s.scan)
    scans_in_day = in_day & s.scan

    stages = []
    for j, arn in enumerate(s.arns):
        v = s.viewers[:, j]
        hb = _drift(v - s.hlen[:, j], np.ones(len(v), bool), a, b, in_day)
        fresh = None
        if len(scans):
            diff = (v - s.fresh[:, j])[scans]
            valid = np.ones(len(scans), bool)
            fresh = _drift(diff, valid, a[scans], scan_until[scans], in_day[scans])
        expired = None
        off = s.info_measured & s.info_missing[:, j] & (v != 0) & inside
        if off.any():
            idx = np.flatnonzero(off)
            k = idx[int(np.abs(v[idx]).argmax())]
            expired = ExpiredInfo(
                minutes=minutes(int((b - a)[off].sum())),
                largest=int(v[k]),
                largestAt=instants.text(int(a[k])),
                first=instants.text(int(a[idx[0]])),
                last=instants.text(int(a[idx[-1]])),
            )
        points = [
            IvsPoint(
                at=r.at,
                sessionId=r.sessionId,
                counter=r.counter,
                connected=r.connected,
                difference=None if r.counter is None or not r.complete else r.counter - r.connected,
            )
            for r in s.reconciliations
            if r.stageArn == arn and start <= instants.parse(r.at) < end
        ]
        diffs = [p.difference for p in points if p.difference is not None]
        ivs_worst = max(diffs, key=abs) if diffs else None
        unparsable = s.unparsable[:, j][scans_in_day]
        info = s.info.get(arn)
        stage = StageDrift(
            stageArn=arn,
            name=info.name if info else None,
            counterVsHeartbeats=hb,
            counterVsFresh=fresh,
            unparsableHeartbeats=int(unparsable.max()) if len(unparsable) else 0,
            negative=_negative(v, a, b, inside),
            expiredInfo=expired,
            ivs=points,
            ivsWorst=ivs_worst,
        )
        if _size(stage) > 0 or stage.expiredInfo or stage.unparsableHeartbeats:
            stages.append(stage)
    stages.sort(key=lambda st: (-_size(st), st.stageArn))
    recs = [r for r in s.reconciliations if start <= instants.parse(r.at) < end]
    return LiveDriftDoc(
        date=day.isoformat(),
        timezone=timezone,
        dayStart=instants.text(start),
        dayEnd=instants.text(end),
        keyPrefix=s.key_prefix,
        measured=Measured(
            samples=int(in_day.sum()),
            heartbeatScans=int(scans_in_day.sum()),
            samplesWithInfoPresence=int((in_day & s.info_measured).sum()),
            reconciliations=len(recs),
        ),
        totalVsStages=total,
        negativeTotal=_negative(s.total, a, b, inside & s.total_known),
        stagesWithDrift=len(stages),
        stages=stages,
        ivs=IvsSummary(
            reconciliations=len(recs),
            stagesReconciled=len({r.stageArn for r in recs}),
            calls=sum(r.calls for r in recs),
            first=recs[0].at if recs else None,
            last=recs[-1].at if recs else None,
            stagesOff=len(
                {r.stageArn for r in recs if r.complete and (r.counter or 0) != r.connected}
            ),
        ),
    )


def _size(st: StageDrift) -> int:
    """How far off a stage was at worst, whichever comparison said it."""
    sizes = [abs(st.ivsWorst or 0)]
    for d in (st.counterVsHeartbeats, st.counterVsFresh):
        if d is not None:
            sizes.append(abs(d.worst))
    if st.negative:
        sizes.append(abs(st.negative.lowest))
    return max(sizes)


# -- checks: each returns the problems over its limits (none: within them) -------------------


def _over(d: Drift | None, limits: DriftLimits) -> list[Episode]:
    if d is None:
        return []
    return [e for e in d.largest if abs(e.worst) > limits.viewers and e.minutes > limits.minutes]


def total_vs_stages(doc: LiveDriftDoc, limits: DriftLimits) -> list[str]:
    return [
        f"total - stages {e.worst:+d} at {e.worstAt}, {e.minutes} min from {e.start}"
        for e in _over(doc.totalVsStages, limits)
    ]


def counters_vs_heartbeats(doc: LiveDriftDoc, limits: DriftLimits) -> list[str]:
    out = []
    for st in doc.stages:
        for what, d in (("HLEN", st.counterVsHeartbeats), ("fresh", st.counterVsFresh)):
            out += [
                f"{st.stageArn}: counter - {what} {e.worst:+d} at {e.worstAt}, {e.minutes} min"
                for e in _over(d, limits)
            ]
    return out


def counters_vs_ivs(doc: LiveDriftDoc, limits: DriftLimits) -> list[str]:
    return [
        f"{st.stageArn}: counter - IVS {p.difference:+d} at {p.at}"
        for st in doc.stages
        for p in st.ivs
        if p.difference is not None and abs(p.difference) > limits.ivs_viewers
    ]


CHECKS = {
    "total_vs_stages": total_vs_stages,
    "counters_vs_heartbeats": counters_vs_heartbeats,
    "counters_vs_ivs": counters_vs_ivs,
}
