"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.support.definitions import forget_location
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


# Besides the modules marked `e2e` themselves: every test that starts a server or a process
# (one that uses the simulator over HTTP, or lives where they all do). `make test-fast`
# (`-m "not e2e"`) leaves them out.
E2E_PATHS = (
    "tests/e2e/",
    "tests/golden/",
    "tests/test_bench_floor.py",
    "tests/test_bench_alone.py",
    "tests/cloudflare/test_cli_waits.py",
    "tests/cloudflare/test_ledger.py",
)


@pytest.fixture(autouse=True)
def _location_per_test():
    """Each test loads the code location under its own environment: the location reads its
    settings when imported (`tests/support/definitions.py`): dropped before the test (a module
    fixture may have loaded it under the module's environment) and after it."""
    forget_location()
    yield
    forget_location()


@pytest.fixture(autouse=True, scope="session")
def _each_command_loads_the_location():
    """An in-process `cli.main` loads the location under the environment of that moment, as
    the `stream-stats` process it stands for would (a test may change a variable between two
    commands)."""
    from stream_stats_dagster import commands

    load = commands.Commands.__init__

    def fresh(self, *args, **kwargs):
        forget_location()
        load(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(commands.Commands, "__init__", fresh)
        yield


# The slowest test files, slowest first (their durations in a `make test` of 2026-12-07):
# started first, they run beside the many short files instead of after them, alone at the
# end of the run (`make test` passes `--no-loadscope-reorder`, or xdist would put the files
# with the most tests first).
SLOWEST_FIRST = (
    "tests/e2e/test_r2_collect.py",
    "tests/e2e/test_ui_backfill.py",
    "tests/e2e/test_deploy_topology.py",
    "tests/e2e/test_faults_runs.py",
    "tests/golden/test_golden.py",
    "tests/cloudflare/test_ledger.py",
    "tests/e2e/test_windows.py",
    "tests/live/test_drift_session.py",
    "tests/e2e/test_instance_start.py",
    "tests/e2e/test_r2_faults.py",
    "tests/e2e/test_collect_cli.py",
    "tests/cloudflare/test_cli_waits.py",
    "tests/live/test_live_session.py",
    "tests/e2e/test_corrupt_state.py",
    "tests/live/test_sampler_faults.py",
    "tests/e2e/test_private_bucket.py",
    "tests/test_bench_floor.py",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(E2E_PATHS) or "sim" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
