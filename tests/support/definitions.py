"""A fresh load of the code location under a given environment, as `dg dev` would load it.

The location reads its settings once, when its modules are imported (`defs/settings.py`),
and declares its assets, partitions and schedules from them at module level, as a code
server process does. A test that wants other settings drops those modules
(`forget_location`), and the next import reads the environment anew. `tests/conftest.py`
drops them after every test, so each test (and each in-process `cli.main`) loads the
location under its own environment.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

import dagster as dg
import pytest

PREFIXES = ("CLOUDFLARE_", "R2_", "STREAM_STATS_", "AWS_")
NAMES = ("STATS_BUCKET", "LOG_BUCKET")


# The modules that read the settings when imported, or import one that does. The rest of
# `defs/` (resources' classes, publishing, checks, common helpers, job names) reads none, and
# is kept: its classes stay the ones every test module imported.
LOCATION_MODULES = (
    "stream_stats_dagster.definitions",
    "stream_stats_dagster.defs.settings",
    "stream_stats_dagster.defs.partitions",
    "stream_stats_dagster.defs.failure_hooks",
    "stream_stats_dagster.defs.resources",
    "stream_stats_dagster.defs.raw",
    "stream_stats_dagster.defs.daily",
    "stream_stats_dagster.defs.rolling",
    "stream_stats_dagster.defs.weekly",
    "stream_stats_dagster.defs.costs",
    "stream_stats_dagster.defs.live",
    "stream_stats_dagster.defs.automation",
)


def location_modules() -> list[str]:
    """The imported modules among LOCATION_MODULES (packages with their submodules)."""
    return [
        name
        for name in sys.modules
        if any(name == m or name.startswith(m + ".") for m in LOCATION_MODULES)
    ]


def forget_location() -> None:
    """Drop the location's modules: the next import reads the environment's settings."""
    for name in location_modules():
        del sys.modules[name]


def project_environment(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """Exactly `env` of the project's variables set (others cleared)."""
    for name in list(os.environ):
        if name.startswith(PREFIXES) or name in NAMES:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def load_definitions(monkeypatch: pytest.MonkeyPatch, **env: str) -> dg.Definitions:
    """The definitions with exactly `env` of the project's variables set (others cleared)."""
    project_environment(monkeypatch, **env)
    return fresh_defs()


def location_module(monkeypatch: pytest.MonkeyPatch, module: str, **env: str) -> ModuleType:
    """One module of the location (`stream_stats_dagster.defs.live.assets`), imported anew
    with exactly `env` of the project's variables set."""
    project_environment(monkeypatch, **env)
    forget_location()
    return importlib.import_module(module)


def fresh_defs() -> dg.Definitions:
    """`defs()` as a code server loads it, under a live instance of its own, and resolved
    there: loading the defs folder reads Dagster's definitions-state storage from the current
    instance (a context variable), which an instance closed by an earlier test can leave
    behind. The location's modules are imported anew, under the current environment."""
    forget_location()
    from stream_stats_dagster.definitions import defs

    with dg.DagsterInstance.ephemeral():  # entering it makes it the current instance
        location = defs()
        location.get_repository_def()  # resolved now, while that instance is current
        return location
