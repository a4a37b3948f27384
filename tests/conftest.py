"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.support.pipeline import pipeline_env, simulator_server


@pytest.fixture(scope="module")
def sim():
    """The small-scale simulator over loopback HTTP, one per test module: (simulator, url)."""
    with simulator_server() as (simulator, base_url):
        yield simulator, base_url


@pytest.fixture
def env(monkeypatch, tmp_path, sim):
    """The project pointed at `sim` over HTTP, with temporary storage and Dagster home
    (modules that need other settings define their own `env`)."""
    return pipeline_env(monkeypatch, tmp_path, sim[1])
