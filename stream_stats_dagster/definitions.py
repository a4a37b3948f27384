"""The code location: `dg dev`, `dg launch`, the webserver, the daemon and the CLI load it.

Every domain under `defs/` (raw, daily, rolling, weekly, costs, jobs, automation,
resources) contributes its own definitions, built from the environment's settings
(`config.load_settings`, the one place they are read and validated), and
`load_from_defs_folder` gathers them. Runs execute in process: the work waits on the API
and on storage, and a process per step would only add seconds. Nothing here touches the
network at load time.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent),
        dg.Definitions(executor=dg.in_process_executor),
    )
