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

PROJECT = Path(__file__).resolve().parent
EXECUTION = dg.Definitions(executor=dg.in_process_executor)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(dg.load_from_defs_folder(path_within_project=PROJECT), EXECUTION)


def run_definitions() -> dg.Definitions:
    """What the CLI runs: the defs folder's definitions, without the catalogue of installed
    component types that `load_from_defs_folder` adds for the UI's component browser
    (gathering it imports every Dagster integration installed: ~0.6 s of every CLI
    process, and no run reads it)."""
    tree = dg.ComponentTree.for_project(path_within_project=PROJECT)
    return dg.Definitions.merge(tree.build_defs(PROJECT / "defs"), EXECUTION)
