"""The drift that `live_drift`'s checks let pass: its own module, so that the settings (read
by every process, the sampler's too) do not import the report's numpy."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class DriftLimits(BaseModel):
    """The drift the checks let pass (`STREAM_STATS_LIVE_DRIFT_LIMITS`): an episode fails
    a check when it is more than `viewers` off for more than `minutes`; a reconciliation when
    the counter is more than `ivs_viewers` off IVS. `severity`: WARN (the default: the report
    is published and the check shows the drift) or ERROR (a failed check stops publishing)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    viewers: int = 5
    minutes: float = 5.0
    ivs_viewers: int = 5
    severity: Literal["WARN", "ERROR"] = "WARN"
