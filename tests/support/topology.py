"""The production topology of deploy/ as processes on this machine (containers cannot be built
here): a gRPC code server, `dagster-webserver` and `dagster-daemon` on a DAGSTER_HOME whose
dagster.yaml is deploy/dagster.yaml with only `run_launcher` swapped for the default one
(storage, queue, pools, monitoring, retention and compute logs as in production), and a
workspace that points at the code server's loopback port, as deploy/workspace.yaml points at
the compose service.

`deploy_topology(env, home)` starts the three services (each in its own process group, logs
in `<home>-logs/`), waits until the webserver answers, the location is LOADED and the daemons a
backfill needs are healthy, and yields a `Topology` that can kill and restart the daemon and
the code server. With the default run launcher the code server starts each run as a child
process; `kill_code_server` kills the code server's own processes and leaves the runs, which
in production live in their own containers. `RssSampler` records each process's peak RSS
(`VmHWM`) by role while the services run. On exit everything carrying the temporary
DAGSTER_HOME is stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.dagster_services import (
    BACKFILL_DAEMONS,
    LOCATION_STATUS_QUERY,
    Service,
    ServiceError,
    daemon_statuses,
    initialize_instance,
    processes_with_home,
)
from tests.support.deploy_files import DEPLOY_DAGSTER_YAML, DEPLOY_WORKSPACE_YAML
from tests.support.s3server import free_port

BIN = Path(sys.executable).parent
LOCATION_NAME = "stream_stats_dagster"
DEFAULT_RUN_LAUNCHER = {"module": "dagster.core.launcher", "class": "DefaultRunLauncher"}


def topology_instance_config() -> dict[str, Any]:
    """deploy/dagster.yaml with the run launcher swapped for the default one, nothing else."""
    config = yaml.safe_load(DEPLOY_DAGSTER_YAML.read_text())
    assert "run_launcher" in config
    config["run_launcher"] = dict(DEFAULT_RUN_LAUNCHER)
    return config


def topology_workspace(port: int) -> dict[str, Any]:
    """deploy/workspace.yaml with the code server's host and port on loopback."""
    workspace = yaml.safe_load(DEPLOY_WORKSPACE_YAML.read_text())
    [entry] = workspace["load_from"]
    entry["grpc_server"].update(host="127.0.0.1", port=port)
    return workspace


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _peak_rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def process_role(service: str, cmdline: str, leader: bool = False) -> str:
    """What a process of a service's group is: the service itself, a run, or a helper."""
    if "resource_tracker" in cmdline:
        return f"{service} (multiprocessing resource tracker)"
    if "spawn_main" in cmdline or "execute_run" in cmdline:
        return "run"
    if "compute_log" in cmdline or "watch_orphans" in cmdline or cmdline.startswith("tail -F"):
        return "run (compute log capture helper)"
    if service == "code-server" and "api grpc" in cmdline:
        return "code-server (gRPC server process)"
    if leader:
        return "code-server (proxy)" if service == "code-server" else service
    return f"{service} (other: {cmdline[:80]})"


@dataclass
class RssSampler:
    """Peak RSS (`VmHWM`, kB) of every process in the watched process groups, sampled."""

    interval: float = 0.2
    groups: dict[int, str] = field(default_factory=dict)  # pgid -> service name
    peaks: dict[int, tuple[str, int]] = field(default_factory=dict)  # pid -> (role, kB)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, pgid: int, service: str) -> None:
        with self._lock:
            self.groups[pgid] = service

    def sample(self) -> None:
        with self._lock:
            groups = dict(self.groups)
        for pgid, service in groups.items():
            for pid in _group_members(pgid):
                kb = _peak_rss_kb(pid)
                if kb is None:
                    continue
                role = self.peaks.get(pid, (None, 0))[0] or process_role(
                    service, _cmdline(pid), leader=pid == pgid
                )
                self.peaks[pid] = (role, max(kb, self.peaks.get(pid, (role, 0))[1]))

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self._thread = threading.Thread(target=loop, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def by_role(self) -> dict[str, list[int]]:
        """role -> peak RSS in MB of each process that had that role."""
        out: dict[str, list[int]] = {}
        for role, kb in self.peaks.values():
            out.setdefault(role, []).append(round(kb / 1024))
        return {role: sorted(v, reverse=True) for role, v in sorted(out.items())}


@dataclass
class Topology:
    home: Path
    env: dict[str, str]
    log_dir: Path
    workspace_path: Path
    code_port: int
    web_port: int
    code_server: Service
    webserver: Service
    daemon: Service
    rss: RssSampler
    timings: dict[str, float] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)  # services killed on purpose, not yet back
    _client: Any = field(default=None, repr=False)
    _incarnations: dict[str, int] = field(default_factory=dict)

    # -- what tests/support/backfills.py expects of a services object ------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def client(self) -> Any:
        if self._client is None:
            from dagster_graphql import DagsterGraphQLClient

            self._client = DagsterGraphQLClient("127.0.0.1", port_number=self.web_port, timeout=60)
        return self._client

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.client()._execute(query, variables)

    @property
    def services(self) -> list[Service]:
        return [self.code_server, self.webserver, self.daemon]

    def check_alive(self) -> None:
        for service in self.services:
            started = service.process is not None
            if started and service.name not in self.down and not service.running:
                code = service.process.returncode if service.process else None
                raise ServiceError(f"{service.name} exited with {code}:\n{service.log_tail()}")

    def wait_until(self, what: str, check: Any, timeout: float, interval: float = 0.5) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise ServiceError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(interval)

    def logs(self, lines: int = 60) -> str:
        return "\n".join(
            f"----- {s.name} ({s.log_path}), last {lines} lines -----\n{s.log_tail(lines)}"
            for s in self.services
        )

    # -- starting, killing, restarting --------------------------------------------------------

    def _start(self, service: Service) -> None:
        n = self._incarnations.get(service.name, 0) + 1
        self._incarnations[service.name] = n
        service.log_path = self.log_dir / f"{service.name}-{n}.log"
        service.start(self.env, self.home)
        self.rss.watch(service.pid, service.name)
        self.down.discard(service.name)

    def start_code_server(self) -> None:
        self._start(self.code_server)

    def start_daemon(self) -> None:
        self._start(self.daemon)

    def kill_daemon(self) -> None:
        """SIGKILL, like a container or node going away: no shutdown of any kind."""
        pgid = self.daemon.pid
        self.down.add(self.daemon.name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.daemon.process.wait(timeout=10)
        _wait_gone(pgid)

    def kill_code_server(self) -> list[int]:
        """SIGKILL the code server's processes (proxy and its gRPC server), not the runs it
        started: in production each run is a container of its own."""
        pgid = self.code_server.pid
        victims = [
            pid
            for pid in _group_members(pgid)
            if process_role("code-server", _cmdline(pid), leader=pid == pgid)
            in ("code-server (proxy)", "code-server (gRPC server process)")
        ]
        assert pgid in victims, (pgid, victims)
        self.down.add(self.code_server.name)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.code_server.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in victims) and time.monotonic() < deadline:
            time.sleep(0.05)
        return victims

    def code_server_listens(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", self.code_port)) == 0

    def webserver_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def location_loaded(self, *, fail_on_error: bool = False) -> bool:
        """The location is LOADED; with `fail_on_error`, a load error (the code does not
        import) fails at once instead of being waited out."""
        data = self.graphql(LOCATION_STATUS_QUERY)["workspaceOrError"]
        if data["__typename"] != "Workspace":
            return False
        for entry in data["locationEntries"]:
            if entry["name"] != LOCATION_NAME or entry["loadStatus"] != "LOADED":
                continue
            loaded = entry["locationOrLoadError"] or {}
            if loaded.get("__typename") == "RepositoryLocation":
                return True
            unreachable = "DagsterUserCodeUnreachableError" in (loaded.get("message") or "")
            if fail_on_error and loaded.get("__typename") == "PythonError" and not unreachable:
                raise ServiceError(
                    f"code location {LOCATION_NAME} failed to load: {loaded['message']}\n"
                    + "".join(loaded.get("stack") or [])
                )
        return False

    def reload_location(self) -> None:
        """What the UI's "Reload" does (the webserver also polls the server on its own)."""
        self.graphql(
            """mutation Reload($name: String!) {
                 reloadRepositoryLocation(repositoryLocationName: $name) { __typename }
               }""",
            {"name": LOCATION_NAME},
        )

    def daemons_healthy(self) -> bool:
        statuses = daemon_statuses(self)
        return all(statuses.get(d, {}).get("healthy") for d in BACKFILL_DAEMONS)

    def stop_all(self) -> None:
        for service in reversed(self.services):
            service.stop()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_gone(pgid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)


@contextlib.contextmanager
def deploy_topology(
    env: Mapping[str, str], home: Path, *, ready_timeout: float = 120.0
) -> Iterator[Topology]:
    """Code server + webserver + daemon on deploy/dagster.yaml (default run launcher)."""
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(topology_instance_config(), sort_keys=False))
    code_port = free_port()
    workspace_path = home / "workspace.yaml"
    workspace_path.write_text(yaml.safe_dump(topology_workspace(code_port), sort_keys=False))
    # Not $DAGSTER_HOME/logs: Dagster's telemetry upload thread empties that folder.
    log_dir = home.parent / f"{home.name}-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    web_port = free_port()
    full_env = {**env, "DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    workspace = ["-w", str(workspace_path)]
    code_server = Service(
        "code-server",
        [
            str(BIN / "dagster"),
            "code-server",
            "start",
            "-h",
            "127.0.0.1",
            "-p",
            str(code_port),
            "-m",
            "stream_stats_dagster.definitions",
            "--location-name",
            LOCATION_NAME,
        ],
        log_dir / "code-server.log",
    )
    webserver = Service(
        "webserver",
        [str(BIN / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(web_port)],
        log_dir / "webserver.log",
    )
    daemon = Service(
        "daemon", [str(BIN / "dagster-daemon"), "run", *workspace], log_dir / "daemon.log"
    )
    topology = Topology(
        home=home,
        env=full_env,
        log_dir=log_dir,
        workspace_path=workspace_path,
        code_port=code_port,
        web_port=web_port,
        code_server=code_server,
        webserver=webserver,
        daemon=daemon,
        rss=RssSampler(),
    )
    started = time.monotonic()
    failed = False
    try:
        initialize_instance(home)  # storage and migrations once, before three processes race
        topology.rss.start()
        topology.start_code_server()
        # as compose's depends_on (code-server healthy): webserver and daemon start once the
        # code server listens
        topology.wait_until("the code server to listen", topology.code_server_listens, 120, 0.2)
        topology._start(webserver)
        topology.start_daemon()
        topology.wait_until("the webserver to answer", topology.webserver_answers, 120, 0.2)
        topology.wait_until(
            "the code location to be LOADED",
            lambda: topology.location_loaded(fail_on_error=True),
            120,
            0.5,
        )
        topology.timings["location_loaded"] = time.monotonic() - started
        topology.wait_until("the daemons to be healthy", topology.daemons_healthy, ready_timeout)
        topology.timings["daemon_healthy"] = time.monotonic() - started
        yield topology
    except BaseException:
        failed = True
        print(topology.logs(), file=sys.stderr)
        raise
    finally:
        topology.rss.sample()
        topology.rss.stop()
        topology.stop_all()
        leftovers = processes_with_home(home)
        for pid in leftovers:  # orphaned runs or helpers: they carry our temporary DAGSTER_HOME
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if leftovers and not failed:
            # an orphan of a killed code server that outlived the test is a finding, not noise
            topology.timings["leftover_processes"] = float(len(leftovers))
