"""The sampler's spool: a directory on its own volume where every sample lands first.

One JSON Lines file per hour of the report time zone (`hours/20250311T1400Z.jsonl`, named by
the hour's UTC start), appended and fsynced line by line, so a sampler killed at any point
loses at most the line it was writing (cut lines are dropped by `repair`). A file leaves the
spool only after its hour's file is uploaded and verified (`upload.py`). An R2 outage only
makes the spool grow: a day at 1,000 stages is ~50 MB of lines here.

`stage-info.json` keeps the last info read for each stage, because the platform's info keys
expire after an hour while its stages live on: a restarted sampler still names them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..reports.live import instants
from ..reports.live.samples import (
    InfoLine,
    IvsLine,
    SampleLine,
    StageInfo,
    StagesLine,
    line_bytes,
    parse_lines,
)

SUFFIX = ".jsonl"
NAME_FORMAT = "%Y%m%dT%H%MZ"


class Spool:
    def __init__(self, directory: str | os.PathLike[str]):
        self.root = Path(directory)
        self.hours_dir = self.root / "hours"
        self.hours_dir.mkdir(parents=True, exist_ok=True)
        self.info_path = self.root / "stage-info.json"

    def path(self, hour_us: int) -> Path:
        return self.hours_dir / f"{instants.to_datetime(hour_us):{NAME_FORMAT}}{SUFFIX}"

    def append(
        self, hour_us: int, lines: Sequence[StagesLine | InfoLine | SampleLine | IvsLine]
    ) -> None:
        """Append lines to an hour's file and fsync them: once this returns they survive a
        kill or a power cut of the sampler's node."""
        data = b"".join(line_bytes(line) for line in lines)
        fd = os.open(self.path(hour_us), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def repair(self) -> list[str]:
        """Drop a last line cut by a kill (no newline), so the next append starts a line of
        its own; the names of the files repaired."""
        repaired = []
        for hour in self.hours():
            path = self.path(hour)
            body = path.read_bytes()
            if body and not body.endswith(b"\n"):
                with open(path, "r+b") as f:
                    f.truncate(body.rfind(b"\n") + 1)
                    os.fsync(f.fileno())
                repaired.append(path.name)
        return repaired

    def hours(self) -> list[int]:
        """The hours with a file in the spool, by UTC start (microseconds), oldest first."""
        out = []
        for path in self.hours_dir.glob(f"*{SUFFIX}"):
            with contextlib.suppress(ValueError):
                t = dt.datetime.strptime(path.name[: -len(SUFFIX)], NAME_FORMAT)
                out.append(instants.of(t.replace(tzinfo=dt.UTC)))
        return sorted(out)

    def lines(self, hour_us: int) -> list[StagesLine | InfoLine | SampleLine | IvsLine]:
        return parse_lines(self.path(hour_us).read_bytes())

    def size(self, hour_us: int) -> int:
        return self.path(hour_us).stat().st_size

    def remove(self, hour_us: int) -> None:
        self.path(hour_us).unlink(missing_ok=True)

    def load_info(self) -> dict[str, tuple[int, StageInfo | None]]:
        """The stage infos kept by an earlier run: ARN -> (instant read, info)."""
        try:
            raw = json.loads(self.info_path.read_bytes())
            return {
                arn: (int(at), None if info is None else StageInfo.model_validate(info))
                for arn, (at, info) in raw.items()
            }
        except (OSError, ValueError, TypeError):
            return {}

    def save_info(self, info: dict[str, tuple[int, StageInfo | None]]) -> None:
        """Replace `stage-info.json` atomically (write, fsync, rename)."""
        data = {
            arn: [at, None if value is None else value.model_dump()]
            for arn, (at, value) in sorted(info.items())
        }
        tmp = self.info_path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(json.dumps(data, separators=(",", ":")).encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.info_path)
