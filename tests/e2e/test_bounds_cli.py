"""Nothing hangs: `stream-stats collect` as a real process against a server that drips its
answers and one whose lists never end exits 1 in seconds, with one line that says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.bad_servers import drip_server, endless_pager
from tests.support.pipeline import pipeline_env

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
LIMITS = {
    "timeout_seconds": 1.0,
    "max_attempts": 2,
    "page_size": 50,
    "max_pages": 4,
    "max_list_pages": 4,
}


def collect(env_overrides: dict[str, str]) -> tuple[int, str, str, float]:
    env = {**os.environ, **env_overrides, "STREAM_STATS_TEST_CLIENT_LIMITS": json.dumps(LIMITS)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.faulty_cli", "collect", "--date", "2025-03-01"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


@pytest.mark.parametrize("server", ["drip", "pager"])
def test_a_misbehaving_api_fails_in_seconds_with_one_line(server, monkeypatch, tmp_path):
    serve = drip_server if server == "drip" else endless_pager
    with serve() as url:
        env = pipeline_env(monkeypatch, tmp_path, url, STREAM_STATS_AUTOMATION="stopped")
        code, out, err, spent = collect(env)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, out + err
    if server == "drip":
        assert "did not answer any of 2 attempts" in lines[0], lines
        assert "not complete after 1 s" in lines[0], lines
    else:
        assert "the list does not end (ClientLimits.max_pages is 4)" in lines[0], lines
    assert "sim-token" not in out + err
    print(f"{server}: exit {code} after {spent:.1f} s: {lines[0]}")
