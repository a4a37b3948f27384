"""The UI path: a backfill through `dagster-webserver` + `dagster-daemon`, as an operator runs it.

`run_backfill` starts both services as real subprocesses on loopback
(`tests.support.dagster_services`) on a fresh `DAGSTER_HOME` holding the repository's
`dagster.yaml` as it is (no test overrides: the run queue is polled every 5 s, the default),
launches a backfill of `daily_stats_job` through Dagster's GraphQL API with
`tests.support.backfills.launch_job_backfill` (what the UI's "Launch backfill" sends: the
job's partition set, all its asset keys, the partition names), waits for the backfill to
finish and stops the services. The runs execute in processes the daemon's code server spawns,
so nothing can be counted inside them: the orchestrator counts what reaches the simulator and
moto, and a sampler thread polls `/proc` for the processes carrying this `DAGSTER_HOME`
(their peak RSS, `VmHWM`, and CPU time).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLE_INTERVAL = 0.5
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Sampled:
    pid: int
    kind: str
    cmdline: str
    first_seen: float
    last_seen: float
    vm_hwm_mb: float = 0.0
    cpu_s: float = 0.0


def _kind(cmdline: str) -> str:
    if "dagster-webserver" in cmdline:
        return "webserver"
    if "dagster-daemon" in cmdline:
        return "daemon"
    if "spawn_main" in cmdline:  # multiprocessing spawn child of a code server: a run
        return "run"
    if " api grpc" in cmdline or "code-server" in cmdline:
        return "code server"
    return "other"


class ProcessSampler:
    """Every `interval` s: each live process whose environment has DAGSTER_HOME=`home` (only
    the services, their code servers and the runs use that temporary path), its `VmHWM`
    (peak RSS, monotonic: a sample misses only growth in a process's last `interval` s) and
    its CPU time so far (utime + stime)."""

    def __init__(self, home: Path, interval: float = SAMPLE_INTERVAL) -> None:
        self.marker = f"DAGSTER_HOME={home}".encode()
        self.interval = interval
        self.processes: dict[tuple[int, str], Sampled] = {}
        self._not_ours: set[tuple[int, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sample()  # nothing to find after the services stopped; cheap

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        now = time.monotonic()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                key = (int(entry.name), stat[19])  # (pid, start time): pids are reused
                if key in self._not_ours or stat[0] == "Z":
                    continue
                seen = self.processes.get(key)
                if seen is None:
                    if self.marker not in (entry / "environ").read_bytes().split(b"\0"):
                        self._not_ours.add(key)
                        continue
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    seen = Sampled(key[0], _kind(cmdline), cmdline.strip()[:300], now, now)
                    self.processes[key] = seen
                status = (entry / "status").read_text()
            except (OSError, IndexError, ValueError):
                continue  # gone, or not ours to read
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    seen.vm_hwm_mb = max(seen.vm_hwm_mb, int(line.split()[1]) / 1024)
            seen.cpu_s = max(seen.cpu_s, (int(stat[11]) + int(stat[12])) / _CLOCK_TICKS)
            seen.last_seen = now

    def summary(self) -> dict[str, Any]:
        by_kind: dict[str, dict[str, Any]] = {}
        for p in self.processes.values():
            k = by_kind.setdefault(p.kind, {"count": 0, "max_vm_hwm_mb": 0.0, "cpu_s": 0.0})
            k["count"] += 1
            k["max_vm_hwm_mb"] = round(max(k["max_vm_hwm_mb"], p.vm_hwm_mb), 1)
            k["cpu_s"] = round(k["cpu_s"] + p.cpu_s, 1)
        return {
            "by_kind": by_kind,
            "processes": [
                {
                    "pid": p.pid,
                    "kind": p.kind,
                    "vm_hwm_mb": round(p.vm_hwm_mb, 1),
                    "cpu_s": round(p.cpu_s, 2),
                    "alive_s": round(p.last_seen - p.first_seen, 1),
                    "cmdline": p.cmdline,
                }
                for p in sorted(self.processes.values(), key=lambda p: p.first_seen)
            ],
        }


def _tags(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def _label(run: dict[str, Any]) -> str:
    tags = _tags(run)
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start = tags.get("dagster/asset_partition_range_start")
    return f"{start}..{tags.get('dagster/asset_partition_range_end')}"


def _run_times(run: dict[str, Any], launched_epoch: float) -> dict[str, Any]:
    start, end = run.get("startTime"), run.get("endTime")
    return {
        "label": _label(run),
        "ok": run["status"] == "SUCCESS",
        "status": run["status"],
        "run_id": run["runId"],
        "seconds": round(end - start, 3) if start and end else 0.0,
        "queued_s": round(start - run["creationTime"], 3) if start else None,
        "start_s": round(start - launched_epoch, 3) if start else None,
        "end_s": round(end - launched_epoch, 3) if end else None,
    }


def run_backfill(
    env: dict[str, str], home: Path, partition_names: list[str], timeout: float
) -> dict[str, Any]:
    """Services up, backfill launched through GraphQL, waited for, services down. Returns the
    measurements (`in_run_s`: launch → the backfill's end timestamp; `process_s`: services
    started → stopped) and raises nothing: a failure is `error` in the result."""
    # Imported before any timer (the orchestrator's own cost, not the services').
    import dagster  # noqa: F401
    import dagster_graphql  # noqa: F401

    from stream_stats_dagster.defs.jobs import DAILY_JOB
    from tests.support.backfills import launch_job_backfill, wait_for_backfill
    from tests.support.dagster_services import dagster_services

    home = Path(home).resolve()
    sampler = ProcessSampler(home)
    sampler.start()
    result: dict[str, Any] = {"error": None}
    backfill: dict[str, Any] | None = None
    launched_epoch = observed_s = 0.0
    started = time.perf_counter()
    try:
        # overrides="": the repository's dagster.yaml exactly as an operator's instance has it
        with dagster_services(env, home, overrides="") as services:
            result["ready_s"] = round(time.perf_counter() - started, 3)
            result["services_ready"] = {k: round(v, 2) for k, v in services.timings.items()}
            launched_epoch = time.time()
            t0 = time.perf_counter()
            backfill_id = launch_job_backfill(services, DAILY_JOB, partition_names)
            result["launch_s"] = round(time.perf_counter() - t0, 3)

            backfill = wait_for_backfill(services, backfill_id, timeout)
            observed_s = time.perf_counter() - t0
            stop_started = time.perf_counter()
        result["stop_s"] = round(time.perf_counter() - stop_started, 3)
    except Exception as exc:  # reported; the case fails
        import traceback

        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        process_s = time.perf_counter() - started
        sampler.stop()
    result["process_s"] = round(process_s, 3)
    procs = sampler.summary()
    result["processes"] = procs
    runs_cpu = procs["by_kind"].get("run", {}).get("cpu_s")
    run_rss = procs["by_kind"].get("run", {}).get("max_vm_hwm_mb")
    result["maxrss_mb"] = run_rss or None
    result["in_run_cpu_s"] = runs_cpu
    result["services_cpu_s"] = round(
        sum(v["cpu_s"] for k, v in procs["by_kind"].items() if k != "run"), 1
    )
    if backfill is None:
        return result
    result["observed_s"] = round(observed_s, 3)
    end = backfill.get("endTimestamp")
    result["in_run_s"] = round(end - launched_epoch, 3) if end else round(observed_s, 3)
    runs = sorted(backfill["runs"], key=lambda r: r.get("startTime") or r["creationTime"])
    result["backfill"] = {
        "id": backfill["id"],
        "status": backfill["status"],
        "is_asset_backfill": backfill["isAssetBackfill"],
        "partition_set": backfill["partitionSetName"],
        "partitions": backfill["numPartitions"],
        "error": backfill.get("error"),
    }
    result["runs"] = [_run_times(r, launched_epoch) for r in runs]
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    result["run_statuses"] = statuses
    # Where the time between the runs goes: launch → first run start, run end → next start
    # (queue polling, a new run process: interpreter, imports, definitions), last run end →
    # the backfill's end (the backfill daemon's 30 s loop notices all runs finished).
    timed = [r for r in result["runs"] if r["start_s"] is not None and r["end_s"] is not None]
    if timed:
        result["gaps"] = {
            "launch_to_first_start_s": timed[0]["start_s"],
            "between_runs_s": [
                round(b["start_s"] - a["end_s"], 3) for a, b in itertools.pairwise(timed)
            ],
            "last_end_to_backfill_end_s": round(result["in_run_s"] - timed[-1]["end_s"], 3),
            "backfill_end_to_observed_s": round(observed_s - result["in_run_s"], 3),
        }
    ok = backfill["status"] == "COMPLETED_SUCCESS" and all(r["ok"] for r in result["runs"])
    if not ok and not result["error"]:
        result["error"] = f"backfill {backfill['status']}, runs {statuses}"
    result["partitions"] = [partition_names[0], partition_names[-1]]
    result["launched_at"] = dt.datetime.fromtimestamp(launched_epoch).isoformat(timespec="seconds")
    return result
