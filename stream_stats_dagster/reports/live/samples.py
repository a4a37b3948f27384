"""What the sampler writes: spool lines while an hour runs, one hour file once it has ended.

The spool (`spool.py`) is JSON Lines, appended one line per event, so that a sampler killed
at any point leaves every acknowledged sample behind:

- `{"kind": "stages", "arns": [...]}`: the stage list the following samples are aligned to
  (written when discovery changes it, and first by every process and in every hour);
- `{"kind": "info", "info": {arn: {..., "readAt": ...}}}`: stage infos as read (only the
  ones that changed, and all known ones first in every hour, since the platform's info keys
  expire after an hour while their counters stay);
- `{"kind": "sample", "at": ..., "intervalMs": ..., "total": ..., "publisher": ...,
  "viewers": [...], "heartbeats": [...]}`: one reading, `at` being Redis `TIME`. Since
  schema 2 also `infoMissing` (the indexes of the stages whose `stage:{arn}` key was absent)
  and, on the samples that carry a heartbeat scan (every `LIVE_HEARTBEAT_SCAN_SECONDS`, not
  every sample), `freshAt` (Redis `TIME` of the scan), `fresh` (heartbeats updated within
  `LIVE_FRESH_SECONDS` of it) and `unparsable` (heartbeats whose timestamp did not parse);
- `{"kind": "ivs", ...}`: one reconciliation of a stage with the IVS API (`ivs.py`).

The hour file (`HourFile`, contract §10) is built from an hour's lines alone, so it is the
same bytes however often it is built: columns, one row per sample, one column per stage
(sorted by ARN; null where a stage was not read), instead of one object per stage per
sample. At 1,000 stages a sample is ~8 KB of numbers rather than ~90 KB of repeated ARNs.

Schema 2 adds columns (`infoMissing`, `freshAt`, `fresh`, `unparsable`) and `reconciliations`;
a schema-1 file (part 1's sampler) still reads: its new columns are None (not measured).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ... import jsonbytes
from . import instants

SCHEMA_VERSION = 2


class StageInfo(BaseModel):
    """The platform's `stage:{arn}` JSON, the fields the reports use (others are dropped)."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    arn: str | None = None
    autoScaled: bool | None = None
    createdAt: str | None = None
    parentStage: str | None = None


class StagesLine(BaseModel):
    kind: Literal["stages"] = "stages"
    arns: list[str]


class ReadInfo(StageInfo):
    """A stage's info and the instant (Redis `TIME`) it was read."""

    readAt: str


class InfoLine(BaseModel):
    kind: Literal["info"] = "info"
    info: dict[str, ReadInfo]


class SampleLine(BaseModel):
    kind: Literal["sample"] = "sample"
    at: str  # Redis TIME, the sample's instant
    intervalMs: int  # the sampler's interval when it took this sample
    total: int | None  # None: the key is absent or not an integer
    publisher: str | None
    viewers: list[int | None]  # aligned with the last stages line
    heartbeats: list[int | None]
    infoMissing: list[int] | None = None  # indexes (in the stages line) of absent infos
    freshAt: str | None = None  # a heartbeat scan's Redis TIME, on the samples that carry one
    fresh: list[int | None] | None = None  # heartbeats within the fresh window of freshAt
    unparsable: list[int | None] | None = None  # heartbeats whose timestamp did not parse


class Reconciliation(BaseModel):
    """One stage compared with the IVS real-time API: its current session's CONNECTED
    participants (all pages) against its Redis counter read in the same tick."""

    model_config = ConfigDict(extra="forbid")

    at: str  # Redis TIME of the sample the counter comes from
    stageArn: str
    sessionId: str | None  # None: the stage has no current session (IVS says 0)
    connected: int
    counter: int | None
    calls: int  # API calls it took
    complete: bool = True  # False: more pages than a pass holds (connected is a lower bound)


class IvsLine(Reconciliation):
    kind: Literal["ivs"] = "ivs"


SpoolLine = Annotated[StagesLine | InfoLine | SampleLine | IvsLine, Field(discriminator="kind")]
SPOOL_LINE = TypeAdapter(SpoolLine)


def line_bytes(line: StagesLine | InfoLine | SampleLine | IvsLine) -> bytes:
    return jsonbytes.dumps(line)


class HourStage(StageInfo):
    """A stage of an hour file: its ARN, the info last read for it (kept after the platform's
    key expired), and when that was read."""

    model_config = ConfigDict(extra="forbid")

    stageArn: str
    infoReadAt: str | None = None


class SampleColumns(BaseModel):
    at: list[str]
    intervalMs: list[int]
    total: list[int | None]
    publisher: list[str | None]
    viewers: list[list[int | None]]  # [sample][stage]
    heartbeats: list[list[int | None]]
    # schema 2 (None in a schema-1 file: not measured)
    infoMissing: list[list[int] | None] | None = None  # [sample] -> stages with no info key
    freshAt: list[str | None] | None = None  # [sample] -> the heartbeat scan's instant
    fresh: list[list[int | None] | None] | None = None  # [sample][stage], None: no scan
    unparsable: list[list[int | None] | None] | None = None


class HourFile(BaseModel):
    """`stream-stats/raw/live/YYYY-MM/YYYY-MM-DDTHHMMZ-live-samples.json` (contract §10)."""

    model_config = ConfigDict(extra="forbid")

    schemaVersion: Literal[1, 2] = SCHEMA_VERSION
    hourStart: str
    hourEnd: str
    timezone: str
    keyPrefix: str
    stages: list[HourStage]
    samples: SampleColumns
    reconciliations: list[Reconciliation] | None = None  # schema 2

    def problems(self) -> list[str]:
        """What makes the file inconsistent (empty when it is sound): rows that do not line
        up with the stages, instants out of order or outside the hour."""
        out = []
        s, n, width = self.samples, len(self.samples.at), len(self.stages)
        lengths = {len(s.intervalMs), len(s.total), len(s.publisher), len(s.viewers)}
        if lengths | {len(s.heartbeats)} != {n}:
            out.append(f"sample columns of different lengths (at: {n})")
        if any(len(row) != width for row in (*s.viewers, *s.heartbeats)):
            out.append(f"a sample row does not have one value per stage ({width})")
        extra = [c for c in (s.infoMissing, s.freshAt, s.fresh, s.unparsable) if c is not None]
        if self.schemaVersion >= 2 and len(extra) != 4:
            out.append("a schema-2 file without its infoMissing, freshAt, fresh, unparsable")
        if any(len(c) != n for c in extra):
            out.append(f"schema-2 sample columns of different lengths (at: {n})")
        rows = [r for c in (s.fresh, s.unparsable) if c is not None for r in c if r is not None]
        if any(len(row) != width for row in rows):
            out.append(f"a heartbeat scan row does not have one value per stage ({width})")
        if s.infoMissing is not None and any(
            not 0 <= i < width for row in s.infoMissing for i in row or []
        ):
            out.append("an infoMissing index outside the stages")
        arns = [st.stageArn for st in self.stages]
        if arns != sorted(set(arns)):
            out.append("stages not sorted by ARN or listed twice")
        start, end = instants.parse(self.hourStart), instants.parse(self.hourEnd)
        times = [instants.parse(t) for t in s.at]
        if any(b <= a for a, b in itertools.pairwise(times)):
            out.append("sample instants not strictly increasing")
        if times and not (start <= times[0] and times[-1] < end):
            out.append(f"samples outside the hour {self.hourStart}..{self.hourEnd}")
        if any(i <= 0 for i in s.intervalMs):
            out.append("an interval that is not positive")
        return out


def build_hour(
    lines: Iterable[StagesLine | InfoLine | SampleLine | IvsLine],
    hour_start_us: int,
    timezone: str,
    key_prefix: str,
    earlier: HourFile | None = None,
) -> HourFile:
    """The hour file of an hour's spool lines (in the order written), merged with `earlier`
    (a file of the same hour already stored: a late sample never drops stored ones). Samples
    are sorted by instant; one instant read twice is kept once (the first). Always schema 2;
    the rows of a schema-1 `earlier` keep None for what schema 1 did not measure."""
    arns: list[str] = []
    info: dict[str, tuple[int, StageInfo | None]] = {}
    rows: dict[int, dict] = {}
    recs: dict[tuple[int, str], Reconciliation] = {}
    for line in lines:
        if isinstance(line, StagesLine):
            arns = list(line.arns)
        elif isinstance(line, InfoLine):
            for arn, value in line.info.items():
                at = instants.parse(value.readAt)
                if arn not in info or info[arn][0] <= at:
                    info[arn] = (at, StageInfo(**value.model_dump(exclude={"readAt"})))
        elif isinstance(line, IvsLine):
            rec = Reconciliation(**line.model_dump(exclude={"kind"}))
            recs.setdefault((instants.parse(rec.at), rec.stageArn), rec)
        elif instants.parse(line.at) not in rows:
            rows[instants.parse(line.at)] = _row(
                arns,
                (line.intervalMs, line.total, line.publisher),
                line.viewers,
                line.heartbeats,
                None if line.infoMissing is None else [arns[i] for i in line.infoMissing],
                line.freshAt,
                line.fresh,
                line.unparsable,
            )
    union = {arn for row in rows.values() for arn in row["arns"]}
    if earlier is not None:
        union |= {s.stageArn for s in earlier.stages}
        for stage in earlier.stages:
            at = instants.parse(stage.infoReadAt) if stage.infoReadAt else -1
            if stage.stageArn not in info or info[stage.stageArn][0] < at:
                value = StageInfo(**stage.model_dump(include=set(StageInfo.model_fields)))
                info[stage.stageArn] = (at, value if stage.infoReadAt else None)
        es, names = earlier.samples, [s.stageArn for s in earlier.stages]
        for i, t in enumerate(es.at):
            rows[instants.parse(t)] = _row(  # the stored row wins
                names,
                (es.intervalMs[i], es.total[i], es.publisher[i]),
                es.viewers[i],
                es.heartbeats[i],
                None
                if es.infoMissing is None or es.infoMissing[i] is None
                else [names[j] for j in es.infoMissing[i]],
                None if es.freshAt is None else es.freshAt[i],
                None if es.fresh is None else es.fresh[i],
                None if es.unparsable is None else es.unparsable[i],
            )
        for rec in earlier.reconciliations or []:
            recs[(instants.parse(rec.at), rec.stageArn)] = rec
    table = sorted(union)
    position = {a: i for i, a in enumerate(table)}
    cols = SampleColumns(
        at=[],
        intervalMs=[],
        total=[],
        publisher=[],
        viewers=[],
        heartbeats=[],
        infoMissing=[],
        freshAt=[],
        fresh=[],
        unparsable=[],
    )
    for at in sorted(rows):
        row = rows[at]
        interval, total, publisher = row["row"]
        cols.at.append(instants.text(at))
        cols.intervalMs.append(interval)
        cols.total.append(total)
        cols.publisher.append(publisher)
        cols.viewers.append([row["viewers"].get(a) for a in table])
        cols.heartbeats.append([row["heartbeats"].get(a) for a in table])
        missing = row["missing"]
        cols.infoMissing.append(  # type: ignore[union-attr]
            None if missing is None else sorted(position[a] for a in missing)
        )
        cols.freshAt.append(row["freshAt"])  # type: ignore[union-attr]
        for name in ("fresh", "unparsable"):
            values = row[name]
            getattr(cols, name).append(None if values is None else [values.get(a) for a in table])
    stages = []
    for arn in table:
        read_at, value = info.get(arn, (-1, None))
        fields = value.model_dump() if value is not None else {}
        stages.append(
            HourStage(
                stageArn=arn,
                infoReadAt=instants.text(read_at) if value is not None else None,
                **fields,
            )
        )
    return HourFile(
        hourStart=instants.text(hour_start_us),
        hourEnd=instants.text(hour_start_us + instants.HOUR_US),
        timezone=timezone,
        keyPrefix=key_prefix,
        stages=stages,
        samples=cols,
        reconciliations=[recs[k] for k in sorted(recs)],
    )


def _row(
    names: Sequence[str],
    row: tuple,
    viewers: Sequence[int | None],
    heartbeats: Sequence[int | None],
    missing: Sequence[str] | None,
    fresh_at: str | None,
    fresh: Sequence[int | None] | None,
    unparsable: Sequence[int | None] | None,
) -> dict:
    """One sample by stage ARN (a spool line's or a stored file's)."""
    return {
        "arns": list(names),
        "row": row,
        "viewers": dict(zip(names, viewers, strict=True)),
        "heartbeats": dict(zip(names, heartbeats, strict=True)),
        "missing": None if missing is None else set(missing),
        "freshAt": fresh_at,
        "fresh": None if fresh is None else dict(zip(names, fresh, strict=True)),
        "unparsable": None if unparsable is None else dict(zip(names, unparsable, strict=True)),
    }


def hour_bytes(hour: HourFile) -> bytes:
    """The canonical bytes of an hour file (contract §4: the same samples, the same bytes)."""
    return jsonbytes.dumps(hour)


def parse_lines(body: bytes) -> list[StagesLine | InfoLine | SampleLine | IvsLine]:
    """A spool file's lines; a last line without its newline (a write cut by a kill) is not
    part of it."""
    complete = body[: body.rfind(b"\n") + 1]
    return [SPOOL_LINE.validate_json(raw) for raw in complete.splitlines() if raw.strip()]


def sample_instants(hour: HourFile) -> Sequence[int]:
    return [instants.parse(t) for t in hour.samples.at]
