"""The Dagster webserver and daemon as real subprocesses, the way an operator runs them.

`dagster_services(env, home)` starts `dagster-webserver -w workspace.yaml` on a free loopback
port and `dagster-daemon run -w workspace.yaml`, both with `env` and DAGSTER_HOME=`home`, a
fresh directory given a copy of the repository's `dagster.yaml` (plus
`TEST_INSTANCE_OVERRIDES`) and its storage created up front; it yields once
the webserver answers `/server_info`, the code location is LOADED and the daemons that
backfills need (backfill loop, run queue) report healthy. On exit every process group it
started is terminated (then killed), and any process still carrying the temporary
`DAGSTER_HOME` fails the exit; when the body raises, the tail of each log goes to stderr.

The code servers, and the runs they launch, are separate processes: anything they need
(the simulator, the storage root) must be reachable over loopback HTTP or the file system,
and the test process has to keep serving it while it waits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.s3server import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKSPACE_YAML = REPO_ROOT / "workspace.yaml"
REPO_DAGSTER_YAML = REPO_ROOT / "dagster.yaml"
BIN = Path(sys.executable).parent

# Appended to the repository's dagster.yaml in the test instance: the run queue is polled
# every second instead of every 5 s. (The backfill loop's 30 s interval is a constant in
# dagster._daemon.controller and cannot be configured.)
TEST_INSTANCE_OVERRIDES = """
# -- test overrides (tests/support/dagster_services.py) --
run_queue:
  dequeue_interval_seconds: 1
"""

# The daemons a backfill needs: BACKFILL submits its runs, QUEUED_RUN_COORDINATOR launches them.
BACKFILL_DAEMONS = ("BACKFILL", "QUEUED_RUN_COORDINATOR")

LOCATION_STATUS_QUERY = """
query LocationStatus {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name } }
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message stack }
  }
}
"""

DAEMON_HEALTH_QUERY = """
query DaemonHealth {
  instance {
    daemonHealth {
      allDaemonStatuses { daemonType required healthy lastHeartbeatTime }
    }
  }
}
"""


class ServiceError(RuntimeError):
    """A service did not start, died, or left processes behind."""


@dataclass
class Service:
    """One subprocess in its own process group, its stdout+stderr in `log_path`."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: Mapping[str, str], cwd: Path) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: code servers and runs included
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process group, wait, then SIGKILL whatever of the group is left."""
        if self.process is None:
            return
        pgid = self.process.pid  # start_new_session: the leader's pid is the group id
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _group_alive(pgid) or self.process.poll() is None:
            _signal_group(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            end = time.monotonic() + 5
            while _group_alive(pgid) and time.monotonic() < end:
                time.sleep(0.05)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # zombies still count for killpg(0); ignore group members that are only zombies
    return any(_state(pid) != "Z" for pid in _pids_in_group(pgid))


def _pids_in_group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state, ppid, pgrp, ...
            pids.append(int(entry.name))
    return pids


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def processes_with_home(home: Path) -> list[int]:
    """Live processes whose environment has DAGSTER_HOME=<home>: only ours use that path."""
    marker = f"DAGSTER_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and _state(int(entry.name)) != "Z":
            found.append(int(entry.name))
    return found


def prepare_dagster_home(home: Path, overrides: str = TEST_INSTANCE_OVERRIDES) -> Path:
    """A DAGSTER_HOME with the repository's dagster.yaml and the test overrides appended."""
    home.mkdir(parents=True, exist_ok=True)
    text = REPO_DAGSTER_YAML.read_text() if REPO_DAGSTER_YAML.exists() else ""
    (home / "dagster.yaml").write_text(text.rstrip("\n") + "\n" + overrides)
    return home


def initialize_instance(home: Path) -> None:
    """Create the instance's storage once, before two processes race to create it.

    The webserver and the daemon starting together on a fresh sqlite DAGSTER_HOME both run
    the schema creation; one of them can fail with sqlite's "table ... already exists".
    """
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)


@dataclass
class DagsterServices:
    home: Path
    port: int
    webserver: Service
    daemon: Service | None
    timings: dict[str, float] = field(default_factory=dict)
    _client: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def services(self) -> list[Service]:
        return [s for s in (self.webserver, self.daemon) if s is not None]

    def client(self) -> Any:
        """`dagster_graphql.DagsterGraphQLClient` for this webserver."""
        if self._client is None:
            from dagster_graphql import DagsterGraphQLClient

            self._client = DagsterGraphQLClient("127.0.0.1", port_number=self.port, timeout=60)
        return self._client

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query or mutation through the client (what the UI posts to /graphql)."""
        return self.client()._execute(query, variables)

    def check_alive(self) -> None:
        for service in self.services:
            if not service.running:
                code = service.process.returncode if service.process else None
                raise ServiceError(f"{service.name} exited with {code}:\n{service.log_tail()}")

    def logs(self, lines: int = 80) -> str:
        return "\n".join(
            f"----- {s.name} ({s.log_path}), last {lines} lines -----\n{s.log_tail(lines)}"
            for s in self.services
        )

    def wait_until(self, what: str, check: Any, timeout: float, interval: float = 0.5) -> Any:
        """Poll `check()` until it returns something truthy; fail with the logs on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise ServiceError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(interval)


def _server_info(url: str) -> dict[str, Any] | None:
    import json

    try:
        with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
            return json.loads(response.read()) if response.status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _location_loaded(services: DagsterServices) -> bool:
    data = services.graphql(LOCATION_STATUS_QUERY)["workspaceOrError"]
    if data["__typename"] != "Workspace":
        raise ServiceError(f"workspace failed: {data.get('message')}\n{data.get('stack')}")
    entries = data["locationEntries"]
    for entry in entries:
        error = entry["locationOrLoadError"]
        if error and error["__typename"] == "PythonError":
            raise ServiceError(
                f"code location {entry['name']} failed to load: {error['message']}\n"
                + "".join(error.get("stack") or [])
            )
    return bool(entries) and all(
        e["loadStatus"] == "LOADED"
        and (e["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
        for e in entries
    )


def daemon_statuses(services: DagsterServices) -> dict[str, dict[str, Any]]:
    data = services.graphql(DAEMON_HEALTH_QUERY)
    return {s["daemonType"]: s for s in data["instance"]["daemonHealth"]["allDaemonStatuses"]}


@contextlib.contextmanager
def dagster_services(
    env: Mapping[str, str],
    home: Path,
    *,
    daemon: bool = True,
    log_dir: Path | None = None,
    ready_timeout: float = 120.0,
    overrides: str = TEST_INSTANCE_OVERRIDES,
) -> Iterator[DagsterServices]:
    """Webserver (+ daemon) on the workspace, with `env` and DAGSTER_HOME=`home`."""
    home = prepare_dagster_home(Path(home).resolve(), overrides)
    # Never $DAGSTER_HOME/logs: that is Dagster's telemetry queue. The webserver's and the
    # daemon's upload thread (dagster._core.telemetry_upload, started even with telemetry
    # disabled) moves any file there to .logs_queue, POSTs it and deletes it.
    log_dir = Path(log_dir or home.parent / f"{home.name}-logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {**env, "DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    workspace = ["-w", str(WORKSPACE_YAML)]
    webserver = Service(
        "dagster-webserver",
        [str(BIN / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(port)],
        log_dir / "webserver.log",
    )
    daemon_service = (
        Service(
            "dagster-daemon",
            [str(BIN / "dagster-daemon"), "run", *workspace],
            log_dir / "daemon.log",
        )
        if daemon
        else None
    )
    services = DagsterServices(home=home, port=port, webserver=webserver, daemon=daemon_service)
    started = time.monotonic()
    failed = False
    try:
        initialize_instance(home)
        for service in services.services:
            service.start(full_env, REPO_ROOT)
        services.wait_until(
            "the webserver to answer /server_info",
            lambda: _server_info(services.url),
            ready_timeout,
            interval=0.2,
        )
        services.timings["server_info"] = time.monotonic() - started
        services.wait_until(
            "the code location to be LOADED",
            lambda: _location_loaded(services),
            ready_timeout,
            interval=0.2,
        )
        services.timings["location_loaded"] = time.monotonic() - started
        if daemon:

            def daemons_healthy() -> bool:
                statuses = daemon_statuses(services)
                return all(statuses.get(d, {}).get("healthy") for d in BACKFILL_DAEMONS)

            services.wait_until("the daemons to be healthy", daemons_healthy, ready_timeout)
            services.timings["daemon_healthy"] = time.monotonic() - started
        yield services
    except BaseException:
        failed = True
        print(services.logs(), file=sys.stderr)
        raise
    finally:
        stop_started = time.monotonic()
        for service in reversed(services.services):
            service.stop()
        services.timings["stop"] = time.monotonic() - stop_started
        leftovers = processes_with_home(home)
        if leftovers:
            for pid in leftovers:  # started by us: they carry our temporary DAGSTER_HOME
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if not failed:
                raise ServiceError(f"processes left after stopping the services: {leftovers}")
