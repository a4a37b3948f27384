"""What both benchmark paths share inside their case process: the driver and counters.

Nothing here imports Dagster or the project (only the standard library), so the floor,
which must not import the project, can use `run_case` too.

A case process is started by `bench.run` as `python -m bench.cases|bench.floor '<spec json>'`
with the environment already pointing at the simulator and the storage. It imports what it
needs (timed as `imports_s`), installs the counters (the product path wraps the project's
store classes and client stats here; the floor counts in its own store), then times the
collection alone (`in_run_s`) and prints one line `BENCH_RESULT {...}` as its last stdout line.
"""

from __future__ import annotations

import cProfile
import functools
import json
import resource
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "
STORE_OPS = ("get", "head", "put", "list", "delete")


class Counters:
    """Thread-safe named counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, float] = {}

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            self.values[name] = self.values.get(name, 0) + amount

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self.values)


COUNTERS = Counters()
_depth = threading.local()


def count_storage(*store_classes: type) -> None:
    """Count the outermost ObjectStore calls (a `put` that HEADs first counts once) and the
    bytes actually written (puts that changed the object) and read."""
    for cls in store_classes:
        for op in STORE_OPS:
            original = getattr(cls, op)
            if getattr(original, "_bench_counted", False):
                continue

            def wrapper(self, *args, _op=op, _original=original, **kwargs):
                outer = not getattr(_depth, "n", 0)
                _depth.n = getattr(_depth, "n", 0) + 1
                try:
                    result = _original(self, *args, **kwargs)
                finally:
                    _depth.n -= 1
                if outer:
                    COUNTERS.add(f"store_{_op}")
                    if _op == "put" and getattr(result, "written", False):
                        body = args[2] if len(args) > 2 else kwargs["body"]
                        COUNTERS.add("bytes_written", len(body))
                        COUNTERS.add("files_written")
                    elif _op == "get" and result is not None:
                        COUNTERS.add("bytes_read", len(result.body))
                return result

            functools.update_wrapper(wrapper, original)
            wrapper._bench_counted = True  # type: ignore[attr-defined]
            setattr(cls, op, wrapper)


def count_client(client_stats_cls: type) -> None:
    """Sum every CloudflareClient's `ClientStats` of the process (requests, nodes, REST calls,
    retries, seconds waited) into COUNTERS as `client_*`."""
    original = client_stats_cls.add

    def add(self, **amounts: float) -> None:
        original(self, **amounts)
        for name, amount in amounts.items():
            COUNTERS.add(f"client_{name}", amount)

    client_stats_cls.add = add


def disable_pacing(pacer_cls: type) -> None:
    """Client-side pacing off (both paths alike): the benchmark measures the work, and
    reports the minimum time Cloudflare's real budgets would add from the request counts."""
    pacer_cls.graphql = lambda self, nodes, *, deadline=None: 0.0
    pacer_cls.rest = lambda self, *, deadline=None: 0.0


def peak_rss_mb() -> float | None:
    """This process's peak RSS (`VmHWM`). Not `ru_maxrss`: on Linux a child's `ru_maxrss`
    starts at its parent's peak (the parent's memory image is accounted to the child up to
    exec), and the orchestrator hosts the simulator, so it would report the parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def run_case(
    spec: dict[str, Any],
    prepare: Callable[[dict[str, Any]], Any],
    work: Callable[[Any], dict[str, Any]],
) -> None:
    """Import (`prepare`), then time `work` alone; print the result line."""
    entered = time.time()
    started = time.perf_counter()
    context = prepare(spec)
    imports_s = time.perf_counter() - started
    profiler = cProfile.Profile() if spec.get("profile") else None
    if profiler:
        profiler.enable()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    error = None
    try:
        outcome = work(context)
    except Exception as exc:  # reported, and the case fails
        import traceback

        traceback.print_exc()
        outcome, error = {}, f"{type(exc).__name__}: {exc}"
    in_run_s = time.perf_counter() - t0
    cpu_s = time.process_time() - cpu0
    if profiler:
        profiler.disable()
        profiler.dump_stats(spec["profile"])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "imports_s": round(imports_s, 3),
        "in_run_s": round(in_run_s, 3),
        "in_run_cpu_s": round(cpu_s, 3),
        "peak_rss_mb": peak_rss_mb(),
        "self_ru_maxrss_mb": round(usage.ru_maxrss / 1024, 1),
        "counters": COUNTERS.snapshot(),
        "error": error,
        "entered_epoch": entered,
        "result_epoch": time.time(),
        **outcome,
    }
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)
