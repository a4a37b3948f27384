"""The CLI, as a user runs it (a subprocess, default output), against fake Cloudflare APIs on
loopback: a budget wait is printed while it waits; a closed port fails with the true attempt
count and no Dagster step retry; a silent server shows each attempt."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from tests.support.s3server import aws_free_env, free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "cli-test-token-0123456789abcdef"
DEPLETED = "rate limiter budget depleted, try again after 5 minutes"


def _env(tmp_path: Path, base_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLOUDFLARE_", "R2_", "STREAM_STATS_", "DAGSTER_"))
    }
    env.update(
        CLOUDFLARE_API_BASE_URL=base_url,
        CLOUDFLARE_ACCOUNT_ID="acc",
        CLOUDFLARE_API_TOKEN=TOKEN,
        DAGSTER_HOME=str(tmp_path / "home"),
        STREAM_STATS_LOCAL_DIR=str(tmp_path / "data"),
        STREAM_STATS_START_DATE="2025-03-11",  # no lead-in days: the first run fetches the day
        PYTHONUNBUFFERED="1",
    )
    return aws_free_env(env)


def _collect(tmp_path: Path, base_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "stream_stats_dagster.cli", "collect", "--date", "2025-03-11"],
        cwd=ROOT,
        env=_env(tmp_path, base_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(
    proc: subprocess.Popen[str], marker: str, timeout: float
) -> tuple[list[str], float]:
    """Lines up to and including the first containing `marker`, and the seconds it took."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    started, seen = time.monotonic(), []
    while True:
        try:
            line = lines.get(timeout=max(0.1, started + timeout - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no line with {marker!r} within {timeout} s (guard); got {seen}")
        if line is None:
            pytest.fail(f"the CLI ended without a line with {marker!r}: {seen}")
        seen.append(line)
        if marker in line:
            return seen, time.monotonic() - started


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(30)


class _DepletedHandler(BaseHTTPRequestHandler):
    """Cloudflare's budget error as it really arrives: HTTP 200 with `errors[]`."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps(
            {"data": None, "errors": [{"message": DEPLETED, "path": None, "extensions": {}}]}
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def depleted_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DepletedHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/client/v4"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_cli_prints_a_budget_wait_while_it_waits(tmp_path, depleted_api) -> None:
    proc = _collect(tmp_path, depleted_api)
    try:
        lines, seconds = _read_until(proc, "waiting:", timeout=180)
    finally:
        _stop(proc)  # it would now sleep 300 s: what it says is what this test checks
    line = lines[-1]
    print(f"wait announced {seconds:.1f} s after the CLI started: {line}")
    assert line.startswith(
        "  waiting: Cloudflare GraphQL request for 2025-03-11 (4 nodes): 300 s, until "
    )
    assert " UTC: retry 1/4 after attempt 1 of 5 got HTTP 200: " + DEPLETED in line
    assert TOKEN not in "\n".join(lines)


def test_a_closed_port_fails_with_the_true_attempt_count(tmp_path, monkeypatch) -> None:
    port = free_port()
    started = time.monotonic()
    proc = _collect(tmp_path, f"http://127.0.0.1:{port}/client/v4")
    try:
        out, _ = proc.communicate(timeout=300)  # a guard against a hang, not a target
    finally:
        _stop(proc)
    seconds = time.monotonic() - started
    print(f"closed port: the CLI ended in {seconds:.1f} s\n{out}")
    assert proc.returncode == 1
    assert "did not answer any of 5 attempts" in out and "cannot connect" in out
    assert TOKEN not in out
    # One step attempt made those 5: Dagster did not retry the step.
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with dg.DagsterInstance.get() as instance:
        (record,) = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
        retries = instance.get_records_for_run(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY
        ).records
        assert retries == []


@pytest.fixture
def silent_api(silent_server: int) -> str:
    """A Cloudflare API base URL whose server accepts connections and never answers."""
    return f"http://127.0.0.1:{silent_server}/client/v4"


def test_the_cli_shows_an_unanswered_request(tmp_path, silent_api) -> None:
    proc = _collect(tmp_path, silent_api)
    try:
        lines, seconds = _read_until(proc, "waiting:", timeout=180)
    finally:
        _stop(proc)  # the attempt would give up 20 s later, and 4 more would follow
    line = lines[-1]
    print(f"silent server announced {seconds:.1f} s after the CLI started: {line}")
    assert line.startswith(
        "  waiting: Cloudflare GraphQL request for 2025-03-11 (4 nodes), attempt 1/5: 20 s, until "
    )
    assert f"no answer from {silent_api} after 10 s; this attempt gives up at its 30 s" in line
