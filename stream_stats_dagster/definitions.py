"""The code location: `dg dev`, `dg launch`, the webserver, the daemon and the CLI load it.

Every domain under `defs/` (raw, daily, rolling, weekly, costs, live, automation) declares
its assets, checks, jobs, schedules and sensors at module level, from the settings the
location read once (`defs/settings.py`), and `load_from_defs_folder` gathers them; the
resources come from `defs/resources.py`. Here every asset gets the conventions (an owner,
its kinds, a link to its source in the UI), and runs execute in process: the work waits on
the API and on storage, and a process per step would only add seconds. Nothing here touches
the network at load time.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from .defs.common import with_conventions

PROJECT = Path(__file__).resolve().parent


def _location(loaded: dg.Definitions) -> dg.Definitions:
    """The loaded definitions with the conventions applied to each asset once (a module
    that imports another's asset would list it twice), run in process."""
    assets = list({id(a): a for a in loaded.assets or []}.values())
    return dg.Definitions(
        assets=with_conventions(assets),
        asset_checks=loaded.asset_checks,
        jobs=loaded.jobs,
        schedules=loaded.schedules,
        sensors=loaded.sensors,
        resources=loaded.resources,
        loggers=loaded.loggers,
        metadata=loaded.metadata,
        component_tree=loaded.component_tree,
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return _location(dg.load_from_defs_folder(path_within_project=PROJECT))


def run_definitions() -> dg.Definitions:
    """What the CLI runs: the defs folder's definitions, without the catalogue of installed
    component types that `load_from_defs_folder` adds for the UI's component browser
    (gathering it imports every Dagster integration installed: ~0.6 s of every CLI
    process, and no run reads it)."""
    tree = dg.ComponentTree.for_project(path_within_project=PROJECT)
    return _location(tree.build_defs(PROJECT / "defs"))
