"""What the sampler writes: spool lines while an hour runs, one hour file once it has ended.

The spool (`spool.py`) is JSON Lines, appended one line per event, so that a sampler killed
at any point leaves every acknowledged sample behind:

- `{"kind": "stages", "arns": [...]}`: the stage list the following samples are aligned to
  (written when discovery changes it, and first by every process and in every hour);
- `{"kind": "info", "info": {arn: {..., "readAt": ...}}}`: stage infos as read (only the
  ones that changed, and all known ones first in every hour, since the platform's info keys
  expire after an hour while their counters stay);
- `{"kind": "sample", "at": ..., "intervalMs": ..., "total": ..., "publisher": ...,
  "viewers": [...], "heartbeats": [...]}`: one reading, `at` being Redis `TIME`.

The hour file (`HourFile`, contract §10) is built from an hour's lines alone, so it is the
same bytes however often it is built: columns, one row per sample, one column per stage
(sorted by ARN; null where a stage was not read), instead of one object per stage per
sample. At 1,000 stages a sample is ~8 KB of numbers rather than ~90 KB of repeated ARNs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ... import jsonbytes
from . import instants

SCHEMA_VERSION = 1


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


SpoolLine = Annotated[StagesLine | InfoLine | SampleLine, Field(discriminator="kind")]
SPOOL_LINE = TypeAdapter(SpoolLine)


def line_bytes(line: StagesLine | InfoLine | SampleLine) -> bytes:
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


class HourFile(BaseModel):
    """`stream-stats/raw/live/YYYY-MM/YYYY-MM-DDTHHMMZ-live-samples.json` (contract §10)."""

    model_config = ConfigDict(extra="forbid")

    schemaVersion: Literal[1] = SCHEMA_VERSION
    hourStart: str
    hourEnd: str
    timezone: str
    keyPrefix: str
    stages: list[HourStage]
    samples: SampleColumns

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
    lines: Iterable[StagesLine | InfoLine | SampleLine],
    hour_start_us: int,
    timezone: str,
    key_prefix: str,
    earlier: HourFile | None = None,
) -> HourFile:
    """The hour file of an hour's spool lines (in the order written), merged with `earlier`
    (a file of the same hour already stored: a late sample never drops stored ones). Samples
    are sorted by instant; one instant read twice is kept once (the first)."""
    arns: list[str] = []
    info: dict[str, tuple[int, StageInfo | None]] = {}
    rows: dict[int, tuple[SampleLine, list[str]]] = {}
    for line in lines:
        if isinstance(line, StagesLine):
            arns = list(line.arns)
        elif isinstance(line, InfoLine):
            for arn, value in line.info.items():
                at = instants.parse(value.readAt)
                if arn not in info or info[arn][0] <= at:
                    info[arn] = (at, StageInfo(**value.model_dump(exclude={"readAt"})))
        else:
            rows.setdefault(instants.parse(line.at), (line, arns))
    union = {arn for _, names in rows.values() for arn in names}
    earlier_rows: dict[int, dict[str, tuple]] = {}
    if earlier is not None:
        union |= {s.stageArn for s in earlier.stages}
        for stage in earlier.stages:
            at = instants.parse(stage.infoReadAt) if stage.infoReadAt else -1
            if stage.stageArn not in info or info[stage.stageArn][0] < at:
                value = StageInfo(**stage.model_dump(include=set(StageInfo.model_fields)))
                info[stage.stageArn] = (at, value if stage.infoReadAt else None)
        es, names = earlier.samples, [s.stageArn for s in earlier.stages]
        for i, t in enumerate(es.at):
            earlier_rows[instants.parse(t)] = {
                "row": (es.intervalMs[i], es.total[i], es.publisher[i]),
                "viewers": dict(zip(names, es.viewers[i], strict=True)),
                "heartbeats": dict(zip(names, es.heartbeats[i], strict=True)),
            }
    table = sorted(union)
    cols = SampleColumns(at=[], intervalMs=[], total=[], publisher=[], viewers=[], heartbeats=[])
    for at in sorted(set(rows) | set(earlier_rows)):
        if at in earlier_rows:
            old = earlier_rows[at]
            interval, total, publisher = old["row"]
            viewers, heartbeats = old["viewers"], old["heartbeats"]
        else:
            line, names = rows[at]
            interval, total, publisher = line.intervalMs, line.total, line.publisher
            viewers = dict(zip(names, line.viewers, strict=True))
            heartbeats = dict(zip(names, line.heartbeats, strict=True))
        cols.at.append(instants.text(at))
        cols.intervalMs.append(interval)
        cols.total.append(total)
        cols.publisher.append(publisher)
        cols.viewers.append([viewers.get(a) for a in table])
        cols.heartbeats.append([heartbeats.get(a) for a in table])
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
    )


def hour_bytes(hour: HourFile) -> bytes:
    """The canonical bytes of an hour file (contract §4: the same samples, the same bytes)."""
    return jsonbytes.dumps(hour)


def parse_lines(body: bytes) -> list[StagesLine | InfoLine | SampleLine]:
    """A spool file's lines; a last line without its newline (a write cut by a kill) is not
    part of it."""
    complete = body[: body.rfind(b"\n") + 1]
    return [SPOOL_LINE.validate_json(raw) for raw in complete.splitlines() if raw.strip()]


def sample_instants(hour: HourFile) -> Sequence[int]:
    return [instants.parse(t) for t in hour.samples.at]
