"""A fresh load of the code location under a given environment, as `dg dev` would load it."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from stream_stats_dagster.definitions import defs

PREFIXES = ("CLOUDFLARE_", "R2_", "STREAM_STATS_", "AWS_")
NAMES = ("STATS_BUCKET", "LOG_BUCKET")


def load_definitions(monkeypatch: pytest.MonkeyPatch, **env: str) -> dg.Definitions:
    """The definitions with exactly `env` of the project's variables set (others cleared)."""
    for name in list(os.environ):
        if name.startswith(PREFIXES) or name in NAMES:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return fresh_defs()


def fresh_defs() -> dg.Definitions:
    """`defs()` as a code server loads it, under a live instance of its own, and resolved
    there: loading the defs folder reads Dagster's definitions-state storage from the current
    instance (a context variable), which an instance closed by an earlier test can leave
    behind."""
    with dg.DagsterInstance.ephemeral():  # entering it makes it the current instance
        location = defs()
        location.get_repository_def()  # resolved now, while that instance is current
        return location
