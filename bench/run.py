"""`make bench`: `stream-stats collect` against an independent plain floor, at the seed's scale.

    .venv/bin/python -m bench.run                     # everything (~40 minutes on 2 CPUs)
    .venv/bin/python -m bench.run --quick             # small platform, short backfill (~1-2 min)
    .venv/bin/python -m bench.run --cases day-warm-local --profile

This process hosts the Cloudflare simulator (loopback HTTP, default config = the seed's
scale, 300 ms added to every API call, a fresh simulator per case so no case profits from
another's generated data) and starts `moto_server` as the S3 storage
(`tests.support.s3server`, counting the requests it answers). Each case runs twice, each time
in its own process: `bench.floor` (a plain script that imports nothing from the project: the
same requests, the same files) and `bench.cases` (`stream-stats collect`).
Per process it records the in-run time the process reports, the whole-process wall time and
peak RSS, the simulator's request counters and the storage counters. `backfill-N-ui` (not in
the default set) runs the daily backfill through `dagster-webserver` + `dagster-daemon`
instead (`bench.ui`) and has no floor of its own. See bench/README.md for what each case means.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import RESULT_PREFIX
from tests.support.s3server import (
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    S3Server,
    aws_free_env,
    moto_server,
)

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PATHS = ("floor", "dagster")
MODULES = {"floor": "bench.floor", "dagster": "bench.cases"}
# The shared metadata cache: the columnar catalogue and the older per-video file it migrates.
CACHE_KEYS = ("stream-stats/cache/video-catalog.json", "stream-stats/cache/video-metadata.json")
CACHE_PREFIX = "stream-stats/cache/"
INDEX_KEY = "stream-stats/index.json"
WEEKLY_PREFIX = "stream-stats/weekly/"
CREATORS_PREFIX = "stream-stats/creators/"


def weekly_only(key: str) -> bool:
    """Written by the weekly job alone: the weekly files, each creator's week files
    (`creators/<key>/weeks/...`) and their manifests (`creators/manifests/weeks/...`)."""
    if key.startswith(WEEKLY_PREFIX):
        return True
    return key.startswith(CREATORS_PREFIX) and key.split("/")[3] == "weeks"


STATS_BUCKET, LOG_BUCKET = "bench-stats", "bench-logs"
# Cloudflare's budgets, for the minimum time they would add (the simulator's are off).
NODE_BUDGET, CALL_BUDGET, BUDGET_WINDOW = 300, 1200, 300.0
PROJECT_VARS = (
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_API_BASE_URL",
    "R2_ENDPOINT_URL",
    "R2_ACCOUNT_ID",
    "R2_ACCESS_KEY_ID",
    "R2_SECRET_ACCESS_KEY",
    "STREAM_STATS_LOCAL_DIR",
    "STATS_BUCKET",
    "LOG_BUCKET",
    "STREAM_STATS_TIMEZONE",
    "STREAM_STATS_START_DATE",
    "STREAM_STATS_TOP_VIDEOS",
    "STREAM_STATS_SOURCE",
    "STREAM_STATS_AUTOMATION",
    "DAGSTER_HOME",
)


# --------------------------------------------------------------------------- simulator


def scaled_config(base, scale: int):
    """`base` (a SimulatorConfig) with `scale` times its creators, videos and views (as
    `bench/creators.py` scales the seed): videos, big creators and their posts, small
    creators, unwatched videos and view records per hour."""
    if scale == 1:
        return base
    fields = ("videos", "big_creators", "big_posts", "small_creators", "unwatched_videos",
              "records_per_hour")  # fmt: skip
    return type(base)(**{**base.model_dump(), **{f: getattr(base, f) * scale for f in fields}})


def make_simulator(quick: bool, latency: float, scale: int = 1):
    from stream_stats_dagster.simulator import Simulator, SimulatorConfig, small_config

    class BenchSimulator(Simulator):
        """The simulator plus a log of every API call: when, what, nodes, compute time."""

        def __init__(self, config: SimulatorConfig) -> None:
            super().__init__(config)
            self.calls: list[tuple[float, str, int, float]] = []
            self._calls_lock = threading.Lock()

        def handle(self, method, path, query, authorization, body):  # type: ignore[override]
            t0 = time.monotonic()
            nodes_before = self.stats.nodes
            response = super().handle(method, path, query, authorization, body)
            t1 = time.monotonic()
            kind = "graphql" if path.rstrip("/").endswith("/graphql") else "rest"
            nodes = self.stats.nodes - nodes_before if kind == "graphql" else 0
            busy = max(0.0, t1 - t0 - self.config.latency_seconds)
            with self._calls_lock:
                self.calls.append((t0, kind, nodes, busy))
            return response

    config = (
        small_config(latency_seconds=latency) if quick else SimulatorConfig(latency_seconds=latency)
    )
    sim = BenchSimulator(scaled_config(config, scale))
    _ = sim.platform.catalog  # build the catalogue now, not inside a timed case
    return sim


def peak_in_window(events: list[tuple[float, int]], window: float = BUDGET_WINDOW) -> int:
    """The most units spent in any `window` seconds (events: (time, units))."""
    events = sorted(events)
    best = total = lo = 0
    for t, units in events:
        total += units
        while events[lo][0] <= t - window:
            total -= events[lo][1]
            lo += 1
        best = max(best, total)
    return best


def min_budget_seconds(units: int, budget: int) -> float:
    """The shortest time in which Cloudflare lets `units` through a `budget`/5-min window:
    the first `budget` at once, each further `budget` one window later."""
    return 0.0 if units <= budget else (math.ceil(units / budget) - 1) * BUDGET_WINDOW


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    name: str
    group: str
    storage: str  # s3 | local
    argv: list[str]
    start: dt.date
    title: str
    after: str | None = None  # runs on the storage this case left behind
    prefill: bool = False  # storage starts as the template (the days before), cache removed
    keep_cache: bool = False  # prefill: keep the template's metadata cache (a warm start)
    ui: bool = False  # through dagster-webserver + dagster-daemon (bench/ui.py), no floor
    floor_case: str | None = None  # ui: the case whose floor it is compared with
    partitions: list[str] = field(default_factory=list)  # ui: the backfill's partitions
    scale: int = 1  # the simulator's creators, videos and views: times the seed's


@dataclass
class Group:
    name: str
    storage: str
    prefill: bool
    cases: list[Case] = field(default_factory=list)
    paths: tuple[str, ...] = PATHS
    keep_cache: bool = False
    scale: int = 1


def plan(day: dt.date, backfill_days: int) -> dict[str, Case]:
    start = day - dt.timedelta(days=12)
    first = day - dt.timedelta(days=backfill_days - 1)
    nxt = (day + dt.timedelta(days=1)).isoformat()
    week_last = (day + dt.timedelta(days=6)).isoformat()
    cases = [
        Case(
            "day-cold",
            "day-s3",
            "s3",
            ["collect", "--date", day.isoformat()],
            start,
            f"one day {day}, cold cache (S3)",
            prefill=True,
        ),
        Case(
            "day-warm",
            "day-s3",
            "s3",
            ["collect", "--date", nxt],
            start,
            f"one day {nxt}, warm cache (S3)",
            after="day-cold",
        ),
        Case(
            "day-cold-local",
            "day-local",
            "local",
            ["collect", "--date", day.isoformat()],
            start,
            f"one day {day}, cold cache (local dir)",
            prefill=True,
        ),
        Case(
            "day-warm-local",
            "day-local",
            "local",
            ["collect", "--date", nxt],
            start,
            f"one day {nxt}, warm cache (local dir)",
            after="day-cold-local",
        ),
        Case(
            "days-7-local",
            "days-7-local",
            "local",
            ["collect", "--from", day.isoformat(), "--to", week_last],
            start,
            f"seven days {day}..{week_last} in one run + their week, warm cache (local dir)",
            prefill=True,
            keep_cache=True,
        ),
        Case(
            f"backfill-{backfill_days}",
            "backfill-s3",
            "s3",
            ["collect", "--from", first.isoformat(), "--to", day.isoformat()],
            first,
            f"{backfill_days}-day backfill {first}..{day} (S3)",
        ),
        Case(
            f"backfill-{backfill_days}-local",
            "backfill-local",
            "local",
            ["collect", "--from", first.isoformat(), "--to", day.isoformat()],
            first,
            f"{backfill_days}-day backfill {first}..{day} (local dir)",
        ),
        Case(
            f"backfill-{backfill_days}-ui",
            "backfill-ui-s3",
            "s3",
            ["launchPartitionBackfill", "daily_stats_job", f"{first}..{day}"],
            first,
            f"{backfill_days}-day backfill {first}..{day} of daily_stats_job through "
            "dagster-webserver + dagster-daemon (S3)",
            ui=True,
            floor_case=f"backfill-{backfill_days}",
            partitions=[(first + dt.timedelta(days=i)).isoformat() for i in range(backfill_days)],
        ),
    ]
    cases.append(
        Case(
            "day-warm-10x-local",
            "day-10x-local",
            "local",
            ["collect", "--date", day.isoformat()],
            day - dt.timedelta(days=6),
            f"one day {day} at 10x the seed's creators, videos and views, warm cache (local dir)",
            prefill=True,
            keep_cache=True,
            scale=10,
        )
    )
    return {c.name: c for c in cases}


WARM_CASE = "day-warm-local"  # the warm-day goals' case; bench.alone runs beside it

DEFAULT_CASES = (
    "day-cold",
    "day-warm",
    "day-cold-local",
    "day-warm-local",
    "days-7-local",
    "backfill-{n}",
)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="stream-stats-bench-"))
        self.s3: S3Server | None = None
        self.results: list[dict[str, Any]] = []
        self.alone: dict[str, Any] | None = None  # bench.alone, beside WARM_CASE
        self.stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.templates: dict[int, Path] = {}  # scale -> its template's storage
        # group -> (key -> md5 of the floor's stats bucket, its index.json), kept for the
        # UI case, whose group runs after the floor's storage is released
        self.floor_snapshots: dict[str, tuple[dict[str, str], bytes | None]] = {}
        self.keep_floor_snapshots = False
        self._case_groups: dict[str, set[str]] = {}  # group -> its selected cases

    # -- environment -------------------------------------------------------------------
    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in PROJECT_VARS}
        env = aws_free_env(env)
        env["PYTHONPATH"] = str(REPO)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def storage_env(self, group: str, path: str, storage: str) -> dict[str, str]:
        if storage == "s3":
            assert self.s3 is not None
            stats, logs = self.buckets(group, path)
            return {
                "R2_ENDPOINT_URL": self.s3.endpoint_url,
                "R2_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
                "R2_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY,
                "STATS_BUCKET": stats,
                "LOG_BUCKET": logs,
            }
        return {
            "STREAM_STATS_LOCAL_DIR": str(self.local_root(group, path)),
            "STATS_BUCKET": STATS_BUCKET,
            "LOG_BUCKET": LOG_BUCKET,
        }

    def buckets(self, group: str, path: str) -> tuple[str, str]:
        return f"{group}-{path}-stats", f"{group}-{path}-logs"

    def local_root(self, group: str, path: str) -> Path:
        return self.work / f"{group}-{path}"

    # -- one process -------------------------------------------------------------------
    def spawn(
        self, module: str, argv: list[str], env: dict[str, str], label: str, profile: str | None
    ) -> dict[str, Any]:
        spec = {"argv": argv, "pacing": self.args.client_pacing, "profile": profile}
        out_path = self.work / f"{label}.out"
        err_path = self.work / f"{label}.err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            t0 = time.perf_counter()
            spawned = time.time()
            proc = subprocess.Popen(
                [sys.executable, "-m", module, json.dumps(spec)],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            process_s = time.perf_counter() - t0
            exited = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout = out_path.read_text(errors="replace").splitlines()
        line = next((x for x in reversed(stdout) if x.startswith(RESULT_PREFIX)), None)
        result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :]) if line else {}
        result["maxrss_mb"] = result.get("peak_rss_mb")
        if "entered_epoch" in result:
            # interpreter start + `-m bench.x` import, and everything after the result line
            result["startup_s"] = round(result["entered_epoch"] - spawned, 3)
            result["exit_s"] = round(exited - result["result_epoch"], 3)
        result.update(
            exit_code=proc.returncode,
            process_s=round(process_s, 3),
            wait4_maxrss_mb=round(usage.ru_maxrss / 1024, 1),
            process_cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
        )
        failed = proc.returncode != 0 or result.get("error") or result.get("rc", 1) != 0
        if failed:
            tail = err_path.read_text(errors="replace").splitlines()[-25:]
            result["failed"] = True
            result["stderr_tail"] = tail
            print(f"    FAILED: {label} (exit {proc.returncode}): {result.get('error')}")
            for x in tail[-10:]:
                print(f"      {x}")
        return result

    # -- storage preparation -----------------------------------------------------------
    def make_template(self, day: dt.date, start: dt.date, scale: int = 1) -> Path:
        """Days start..day-1 collected by `stream-stats collect` (not measured), so that a
        one-day case starts from the steady state: the 12 raw days and 6 daily days a
        window of `day` needs, the rolling pointer, index and operation logs (at 10x: the
        six days before `day`, and the cache their runs listed)."""
        root = self.work / ("template" if scale == 1 else f"template-{scale}x")
        sim = make_simulator(self.args.quick, 0.0, scale)
        server = sim.serve()
        try:
            env = {
                **self.base_env(),
                "CLOUDFLARE_API_BASE_URL": server.base_url,
                "CLOUDFLARE_ACCOUNT_ID": "sim-account",
                "CLOUDFLARE_API_TOKEN": "sim-token",
                "STREAM_STATS_START_DATE": start.isoformat(),
                "STREAM_STATS_LOCAL_DIR": str(root),
                "STATS_BUCKET": STATS_BUCKET,
                "LOG_BUCKET": LOG_BUCKET,
                "DAGSTER_HOME": str(self.template_home(scale)),
            }
            last = day - dt.timedelta(days=1)
            argv = ["collect", "--from", start.isoformat(), "--to", last.isoformat()]
            print(f"  setup: {' '.join(argv)} (Dagster CLI, no latency, not measured) ...")
            t0 = time.perf_counter()
            result = self.spawn("bench.cases", argv, env, "setup", None)
            if result.get("failed"):
                raise SystemExit("setup failed")
            print(f"  setup: done in {time.perf_counter() - t0:.0f} s")
        finally:
            server.close()
        return root

    def s3_counts(self, storage: str) -> dict[str, int] | None:
        """moto's request counters now (cumulative), or None for local storage."""
        if storage != "s3" or self.s3 is None:
            return None
        return self.s3.request_counts()

    @staticmethod
    def s3_delta(before: dict[str, int] | None, after: dict[str, int] | None) -> dict[str, int]:
        if before is None or after is None:
            return {}
        return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}

    def prepare_storage(self, group: Group, path: str) -> None:
        if group.storage == "s3":
            assert self.s3 is not None
            stats, logs = self.buckets(group.name, path)
            self.s3.create_bucket(stats)
            self.s3.create_bucket(logs)
            if group.prefill:
                template = self.templates[group.scale]
                self.s3.upload_dir(template / STATS_BUCKET, stats)
                self.s3.upload_dir(template / LOG_BUCKET, logs)
                if not group.keep_cache:
                    for key in CACHE_KEYS:
                        self.s3.client().delete_object(Bucket=stats, Key=key)
        else:
            root = self.local_root(group.name, path)
            if group.prefill:
                shutil.copytree(self.templates[group.scale], root)
                if not group.keep_cache:
                    for key in CACHE_KEYS:
                        (root / STATS_BUCKET / key).unlink(missing_ok=True)
            else:
                root.mkdir(parents=True)

    def stored(self, group: Group, path: str) -> dict[str, str]:
        """key -> md5 of every object in the stats bucket."""
        if group.storage == "s3":
            assert self.s3 is not None
            stats, _ = self.buckets(group.name, path)
            return {k: etag for k, (etag, _size) in self.s3.objects(stats).items()}
        import hashlib

        base = self.local_root(group.name, path) / STATS_BUCKET
        return {
            p.relative_to(base).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".stream-stats-tmp")
        }

    def cache_doc(self, group: Group, path: str, key: str) -> Any:
        """A metadata cache object of the path's stats bucket, parsed, with `fullListingAt`
        reduced to whether it is set (None: absent, or not JSON)."""
        if group.storage == "s3":
            assert self.s3 is not None
            stats, _ = self.buckets(group.name, path)
            try:
                body = self.s3.client().get_object(Bucket=stats, Key=key)["Body"].read()
            except Exception:
                return None
        else:
            try:
                body = (self.local_root(group.name, path) / STATS_BUCKET / key).read_bytes()
            except OSError:
                return None
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        if isinstance(doc, dict) and "fullListingAt" in doc:
            doc["fullListingAt"] = doc["fullListingAt"] is not None
        return doc

    def release(self, group: Group) -> None:
        if group.storage == "s3":
            assert self.s3 is not None
            self.s3.reset(timeout=30.0)  # frees moto's memory; the next group makes its own
        elif not self.args.keep:
            for path in PATHS:
                shutil.rmtree(self.local_root(group.name, path), ignore_errors=True)

    # -- a case ------------------------------------------------------------------------
    def template_home(self, scale: int = 1) -> Path:
        return self.work / ("template-dagster-home" + ("" if scale == 1 else f"-{scale}x"))

    def dagster_home(self, case: Case, path: str) -> Path:
        """The case's Dagster instance, as an operator's would be: a case that continues
        another's storage continues its instance too, a case that starts from the template's
        days starts from the instance that collected them, and only a case on empty storage
        creates one."""
        if case.after:
            return self.work / f"dagster-home-{case.after}-{path}"
        home = self.work / f"dagster-home-{case.name}-{path}"
        template_home = self.template_home(case.scale)
        if case.prefill and template_home.is_dir() and not home.exists():
            shutil.copytree(template_home, home)
        return home

    def run_case(self, case: Case, path: str) -> dict[str, Any]:
        sim = make_simulator(self.args.quick, self.args.latency, case.scale)
        server = sim.serve()
        home = self.dagster_home(case, path)
        env = {
            **self.base_env(),
            **self.storage_env(case.group, path, case.storage),
            "CLOUDFLARE_API_BASE_URL": server.base_url,
            "CLOUDFLARE_ACCOUNT_ID": "sim-account",
            "CLOUDFLARE_API_TOKEN": "sim-token",
            "STREAM_STATS_START_DATE": case.start.isoformat(),
            "DAGSTER_HOME": str(home),
        }
        profile = None
        if self.args.profile:
            RESULTS.mkdir(parents=True, exist_ok=True)
            profile = str(RESULTS / f"{self.stamp}-{case.name}-{path}.prof")
        label = f"{case.name}-{path}"
        print(f"  {label}: {' '.join(case.argv)} ...", flush=True)
        s3_before = self.s3_counts(case.storage)
        try:
            result = self.spawn(MODULES[path], case.argv, env, label, profile)
        finally:
            server.close()
        result["s3_requests"] = self.s3_delta(s3_before, self.s3_counts(case.storage))
        self.add_simulator_results(result, sim, case, path)
        result["profile"] = profile
        if profile and Path(profile).exists():
            result["profile_top"] = profile_top(profile)
        self.print_case(result)
        return result

    def run_alone(self, case: Case) -> dict[str, Any]:
        """`bench.alone` on a copy of the instance the case's Dagster path just used: the
        same job shape with no work, right after the product and the floor ran."""
        home = self.work / f"dagster-home-{case.name}-alone"
        shutil.copytree(self.dagster_home(case, "dagster"), home)
        env = {
            **self.base_env(),
            **self.storage_env(case.group, "dagster", case.storage),
            "STREAM_STATS_START_DATE": case.start.isoformat(),
            "DAGSTER_HOME": str(home),
        }
        label = f"{case.name}-alone"
        print(f"  {label}: the same job with no work ...", flush=True)
        result = self.spawn("bench.alone", case.argv, env, label, None)
        result.update(case=case.name, path="alone")
        print(
            f"    in-run {result.get('in_run_s') or float('nan'):.1f} s, process "
            f"{result['process_s']:.1f} s, RSS {result.get('maxrss_mb') or float('nan'):.0f} MB, "
            f"{result.get('dagster_events')} Dagster events",
            flush=True,
        )
        shutil.rmtree(home, ignore_errors=True)
        return result

    def add_simulator_results(self, result: dict[str, Any], sim: Any, case: Case, path: str):
        """The case's identity and what the simulator saw: counts, busy time, 5-minute peaks
        and the minimum time Cloudflare's budgets would impose."""
        calls = list(sim.calls)
        stats = sim.stats.as_dict()
        rest = [(t, 1) for t, kind, _, _ in calls if kind == "rest"]
        api = [(t, 1) for t, _, _, _ in calls]
        nodes = [(t, n) for t, kind, n, _ in calls if kind == "graphql"]
        all_calls = stats["graphql_requests"] + stats["rest_calls"]
        budget_s = max(
            min_budget_seconds(stats["nodes"], NODE_BUDGET),
            min_budget_seconds(all_calls, CALL_BUDGET),
        )
        result.update(
            case=case.name,
            path=path,
            title=case.title,
            storage=case.storage,
            argv=case.argv,
            start_date=case.start.isoformat(),
            graphql_requests=stats["graphql_requests"],
            nodes=stats["nodes"],
            rest_calls=stats["rest_calls"],
            faults=stats["faults"],
            sim_busy_s=round(sum(c[3] for c in calls), 3),
            peak_nodes_5min=peak_in_window(nodes),
            peak_rest_5min=peak_in_window(rest),
            peak_calls_5min=peak_in_window(api),
            budget_min_s=budget_s,
        )
        if result.get("in_run_s") is not None:
            result["in_run_with_budgets_s"] = max(result["in_run_s"], budget_s)

    @staticmethod
    def print_case(result: dict[str, Any]) -> None:
        c = result.get("counters", {})
        print(
            f"    in-run {result.get('in_run_s') or float('nan'):.1f} s, process "
            f"{result['process_s']:.1f} s, RSS {result.get('maxrss_mb') or float('nan'):.0f} MB, "
            f"GraphQL {result['graphql_requests']} ({result['nodes']} nodes), "
            f"REST {result['rest_calls']}, written {c.get('bytes_written', 0) / 1e6:.1f} MB",
            flush=True,
        )

    def run_ui_case(self, case: Case) -> dict[str, Any]:
        """`backfill-N-ui`: the daily job's backfill through the webserver and the daemon."""
        from bench.ui import run_backfill

        sim = make_simulator(self.args.quick, self.args.latency, case.scale)
        server = sim.serve()
        env = {
            **self.base_env(),
            **self.storage_env(case.group, "dagster", case.storage),
            "CLOUDFLARE_API_BASE_URL": server.base_url,
            "CLOUDFLARE_ACCOUNT_ID": "sim-account",
            "CLOUDFLARE_API_TOKEN": "sim-token",
            "STREAM_STATS_START_DATE": case.start.isoformat(),
            "STREAM_STATS_AUTOMATION": "stopped",  # schedules and sensors off: only the backfill
        }
        home = self.work / f"dagster-home-{case.name}"
        timeout = max(900.0, 90.0 * len(case.partitions))
        print(f"  {case.name}: {' '.join(case.argv)} (webserver + daemon) ...", flush=True)
        s3_before = self.s3_counts(case.storage)
        try:
            result = run_backfill(env, home, case.partitions, timeout)
        finally:
            server.close()
        s3 = self.s3_delta(s3_before, self.s3_counts(case.storage))
        # Nothing counts inside the run processes: written = the bodies moto accepted (2xx)
        result.update(
            ui=True,
            floor_case=case.floor_case,
            s3_requests=s3,
            counters={"bytes_written": s3.get("PUT_2xx_bytes", 0)},
        )
        if result.get("error"):
            result["failed"] = True
            print(f"    FAILED: {case.name}: {result['error']}")
        self.add_simulator_results(result, sim, case, "dagster")
        # Client pacing cannot be switched off in the run processes; each has its own pacer
        # (280 nodes / 1100 calls per 5 min), so it cannot have waited unless the whole
        # backfill spent that much in some 5 minutes.
        result["client_pacing_may_have_waited"] = (
            result["peak_nodes_5min"] > 280 or result["peak_calls_5min"] > 1100
        )
        self.print_case(result)
        gaps = result.get("gaps") or {}
        if gaps:
            between = gaps["between_runs_s"]
            print(
                f"    services ready {result.get('ready_s', 0):.1f} s, first run starts "
                f"{gaps['launch_to_first_start_s']:.1f} s after launch, between runs "
                f"{min(between, default=0):.1f}..{max(between, default=0):.1f} s, last run end "
                f"→ backfill end {gaps['last_end_to_backfill_end_s']:.1f} s",
                flush=True,
            )
        return result

    def run_group(self, group: Group) -> None:
        print(f"\n[{group.name}] {group.storage} storage")
        for path in group.paths:
            self.prepare_storage(group, path)
        if "floor" not in group.paths:  # the UI case
            for case in group.cases:
                result = self.run_ui_case(case)
                self.results.append(result)
                self.compare_with_floor(group, case, result)
            self.release(group)
            return
        for case in group.cases:
            for path in PATHS:
                self.results.append(self.run_case(case, path))
            if case.name == WARM_CASE:
                self.alone = self.run_alone(case)
        if self.keep_floor_snapshots and group.storage == "s3":
            assert self.s3 is not None
            stats, _ = self.buckets(group.name, "floor")
            try:
                index = self.s3.client().get_object(Bucket=stats, Key=INDEX_KEY)["Body"].read()
            except Exception:  # no index: nothing finished
                index = None
            self.floor_snapshots[group.name] = (self.stored(group, "floor"), index)
        floor, dagster = self.stored(group, "floor"), self.stored(group, "dagster")
        differ = sorted(k for k in floor.keys() | dagster.keys() if floor.get(k) != dagster.get(k))
        # The metadata cache is the catalogue, not a report: both paths write it in the same
        # format and it is compared, but a difference there is reported apart from the files.
        # Its `fullListingAt` is the wall-clock time of the last whole listing, so it is
        # compared as set or not; everything else byte for byte.
        cache = [
            k
            for k in differ
            if k.startswith(CACHE_PREFIX)
            and self.cache_doc(group, "floor", k) != self.cache_doc(group, "dagster", k)
        ]
        differ = [k for k in differ if not k.startswith(CACHE_PREFIX) or k in cache]
        reports = [k for k in differ if not k.startswith(CACHE_PREFIX)]
        verdict = "identical" if not reports else f"{len(reports)} differ, e.g. {reports[:3]}"
        cache_verdict = "identical" if not cache else f"differs ({', '.join(cache)})"
        logs_same = self.compare_oplogs(group)
        print(
            f"  stats bucket after the group, floor vs dagster: {len(floor)} files, {verdict}; "
            f"metadata cache {cache_verdict}; operation log records (without timestamp, run "
            f"id, duration) {'identical' if logs_same else 'DIFFER'}"
        )
        for r in self.results:
            if r["case"] in {c.name for c in group.cases}:
                r["files_identical_to_other_path"] = not reports
                r["files_differing"] = reports[:20]
                r["cache_identical"] = not cache
                r["oplog_identical"] = logs_same
        self.release(group)

    def oplog_records(self, group: Group, path: str) -> dict[tuple[str, str], list[str]]:
        """(operation, date) -> the path's log records, without what differs by run."""
        bodies: list[bytes] = []
        if group.storage == "s3":
            assert self.s3 is not None
            _, logs = self.buckets(group.name, path)
            client = self.s3.client()
            for key in self.s3.objects(logs):
                bodies.append(client.get_object(Bucket=logs, Key=key)["Body"].read())
        else:
            base = self.local_root(group.name, path) / LOG_BUCKET
            bodies = [p.read_bytes() for p in base.rglob("*.json")]
        out: dict[tuple[str, str], list[str]] = {}
        for body in bodies:
            record = json.loads(body)
            for name in ("timestamp", "runId", "duration"):
                record.pop(name, None)
            out.setdefault((record["operation"], record["date"]), []).append(
                json.dumps(record, sort_keys=True)
            )
        return {k: sorted(v) for k, v in out.items()}

    def compare_oplogs(self, group: Group) -> bool:
        return self.oplog_records(group, "floor") == self.oplog_records(group, "dagster")

    def compare_with_floor(self, group: Group, case: Case, result: dict[str, Any]) -> None:
        """The UI case's stats bucket against the floor of `case.floor_case`, if that ran:
        every file but the weekly ones and each creator's week files (the UI backfill is the
        daily job alone) and the metadata cache (its listing time is each path's clock),
        and the index without its weekly entry."""
        floor_group = next((g for g, c in self._case_groups.items() if case.floor_case in c), None)
        snapshot = self.floor_snapshots.get(floor_group or "")
        if snapshot is None:
            print(f"  stats bucket: not compared ({case.floor_case} did not run)")
            return
        assert self.s3 is not None
        floor_files, floor_index = snapshot
        ui_files = self.stored(group, "dagster")
        left_out = sorted(k for k in floor_files if weekly_only(k))
        # the metadata cache carries each path's own listing time (compared in the groups)
        skip = (INDEX_KEY, *CACHE_KEYS)
        expected = {k: v for k, v in floor_files.items() if k not in left_out and k not in skip}
        got = {k: v for k, v in ui_files.items() if k not in skip}
        differ = sorted(k for k in expected.keys() | got.keys() if expected.get(k) != got.get(k))
        stats, _ = self.buckets(group.name, "dagster")
        try:
            ui_index = self.s3.client().get_object(Bucket=stats, Key=INDEX_KEY)["Body"].read()
        except Exception:
            ui_index = None

        def without_weekly(body: bytes | None) -> Any:
            doc = json.loads(body) if body else None
            return {k: v for k, v in doc.items() if k != "weekly"} if doc else None

        if without_weekly(ui_index) != without_weekly(floor_index):
            differ.append(INDEX_KEY + " (daily/rolling entries)")
        verdict = "identical" if not differ else f"{len(differ)} differ, e.g. {differ[:3]}"
        print(
            f"  stats bucket vs the {case.floor_case} floor: {len(expected)} files + the "
            f"index compared ({len(left_out)} weekly files left out), {verdict}"
        )
        result.update(
            files_identical_to_other_path=not differ,
            files_differing=differ[:20],
            files_compared=len(expected) + 1,
            files_compared_with=f"{case.floor_case} floor, weekly files and the index's "
            "weekly entry left out",
            weekly_files_left_out=len(left_out),
        )

    def run(self) -> None:
        args = self.args
        cases = plan(args.date, args.backfill_days)
        wanted = [c.replace("{n}", str(args.backfill_days)) for c in args.cases]
        unknown = [c for c in wanted if c not in cases]
        if unknown:
            raise SystemExit(f"unknown case(s) {unknown}; known: {sorted(cases)}")
        selected = set(wanted)
        for name in list(selected):  # a warm case needs its cold case first
            if cases[name].after:
                selected.add(cases[name].after)
        groups: dict[str, Group] = {}
        for case in cases.values():
            if case.name in selected:
                paths = ("dagster",) if case.ui else PATHS
                g = groups.setdefault(
                    case.group,
                    Group(case.group, case.storage, False, [], paths, scale=case.scale),
                )
                g.prefill = g.prefill or case.prefill
                g.keep_cache = g.keep_cache or case.keep_cache
                g.cases.append(case)
        self._case_groups = {name: {c.name for c in g.cases} for name, g in groups.items()}
        self.keep_floor_snapshots = any(c.ui for g in groups.values() for c in g.cases)
        print_machine(self.machine())
        with contextlib.ExitStack() as stack:
            if any(g.storage == "s3" for g in groups.values()):
                self.s3 = stack.enter_context(moto_server(timeout=30.0, count_requests=True))
                print(f"moto_server: {self.s3.endpoint_url} (pid {self.s3.pid})")
            stack.callback(self.cleanup)
            for scale in sorted({g.scale for g in groups.values() if g.prefill}):
                start = min(c.start for c in cases.values() if c.prefill and c.scale == scale)
                self.templates[scale] = self.make_template(args.date, start, scale)
            for group in groups.values():
                self.run_group(group)
        self.report()

    def cleanup(self) -> None:
        if self.args.keep:
            print(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- output ------------------------------------------------------------------------
    def machine(self) -> dict[str, Any]:
        mem = None
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    mem = round(int(line.split()[1]) / 1024 / 1024, 1)
        except OSError:
            pass
        return {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "memory_gb": mem,
            "processor": platform.processor() or platform.machine(),
            "quick": self.args.quick,
            "latency_s": self.args.latency,
            "client_pacing": self.args.client_pacing,
            "profiled": self.args.profile,
        }

    def report(self) -> None:
        text = render(self.results, self.machine(), self.alone)
        print("\n" + text)
        out = Path(self.args.out) if self.args.out else RESULTS / f"{self.stamp}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "machine": self.machine(),
            "args": {k: str(v) for k, v in vars(self.args).items()},
            "cases": self.results,
            "alone": self.alone,
            "goals": goals(self.results, self.alone),
            "markdown": text,
        }
        out.write_text(json.dumps(payload, indent=2, default=str))
        out.with_suffix(".md").write_text(text + "\n")
        print(f"results: {out} (+ {out.with_suffix('.md').name})")


def profile_top(path: str, n: int = 25) -> list[dict[str, Any]]:
    stats = pstats.Stats(path)
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "where": f"{_short(filename)}:{line}({func})",
                "calls": nc,
                "tottime": round(tt, 3),
                "cumtime": round(ct, 3),
            }
        )
    by_cum = sorted(rows, key=lambda r: -r["cumtime"])[:n]
    by_tot = sorted(rows, key=lambda r: -r["tottime"])[:n]
    return [{"by": "cumtime", **r} for r in by_cum] + [{"by": "tottime", **r} for r in by_tot]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", str(REPO) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# --------------------------------------------------------------------------- rendering


def _pair(results: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(dagster result, the floor it is compared with): its own case's floor, or for a UI
    case the floor of `floor_case` when that ran."""
    floors = {r["case"]: r for r in results if r["path"] == "floor"}
    out = []
    for r in results:
        if r["path"] == "dagster":
            out.append((r, floors.get(r.get("floor_case") or r["case"])))
    return out


def _rows(results: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, str]]:
    """Table rows (result, case cell, path cell): each floor once, before its Dagster row;
    a UI row names its case (its floor, if any, is another case's, printed above)."""
    rows: list[tuple[dict[str, Any], str, str]] = []
    printed: set[str] = set()
    for dag, floor in _pair(results):
        if floor is not None and floor["case"] not in printed:
            printed.add(floor["case"])
            rows.append((floor, floor["case"], "floor"))
        own_floor = floor is not None and floor["case"] == dag["case"]
        label = "dagster UI" if dag.get("ui") else "dagster"
        rows.append((dag, "" if own_floor else dag["case"], label))
    return rows


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or base is None:
        return ""
    if base == 0:
        return " (=)" if value == 0 else " (∞)"
    return f" ({value / base:.2f}×)"


def _mb(x: float | None) -> float | None:
    return None if x is None else x / 1e6


def _fmt(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "-"
    return f"{round(x)}" if digits == 0 else f"{x:.{digits}f}"


def _runs_cell(r: dict[str, Any]) -> str:
    runs = r.get("runs") or []
    bad = sum(1 for x in runs if not x.get("ok", True))
    return f"{len(runs)}" + (f" ({bad} failed)" if bad else "")


def _s3_cell(r: dict[str, Any]) -> str:
    s3 = r.get("s3_requests")
    if r.get("storage") != "s3" or s3 is None:
        return "-"
    return " / ".join(str(s3.get(m, 0)) for m in ("GET", "HEAD", "PUT"))


def render(
    results: list[dict[str, Any]], machine: dict[str, Any], alone: dict[str, Any] | None = None
) -> str:
    lines = [
        f"Machine: {machine['platform']}, Python {machine['python']}, {machine['cpus']} CPUs, "
        f"{machine['memory_gb']} GB RAM. Simulator latency {machine['latency_s'] * 1000:.0f} ms "
        f"per API call; client pacing {'on' if machine['client_pacing'] else 'off'}"
        + ("; QUICK (small platform)" if machine["quick"] else "")
        + ("; PROFILED (times inflated by cProfile)" if machine["profiled"] else "")
        + ".",
        "",
        "| case | path | in-run s | process s | GraphQL req | nodes | REST calls "
        "| peak RSS MiB | written MB |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    metrics = [
        ("in_run_s", 1, None),
        ("process_s", 1, None),
        ("graphql_requests", 0, None),
        ("nodes", 0, None),
        ("rest_calls", 0, None),
        ("maxrss_mb", 0, None),
        ("bytes_written", 1, _mb),
    ]

    def value(r: dict[str, Any] | None, key: str, conv) -> float | None:
        if r is None:
            return None
        v = r.get(key, r.get("counters", {}).get(key))
        return conv(v) if (conv and v is not None) else v

    floors = dict((d["case"], f) for d, f in _pair(results))
    rows = _rows(results)
    for r, name, label in rows:
        floor = floors.get(r["case"]) if label != "floor" else None
        cells = []
        for key, digits, conv in metrics:
            v = value(r, key, conv)
            cells.append(_fmt(v, digits) + _ratio(v, value(floor, key, conv)))
        status = " FAILED" if r.get("failed") else ""
        lines.append(f"| {name} | {label}{status} | " + " | ".join(cells) + " |")
    ui = [r for r, _, label in rows if label == "dagster UI"]
    for r in ui:
        floor = floors.get(r["case"])
        lines += [
            "",
            f"{r['case']}: `daily_stats_job` backfilled through dagster-webserver + "
            "dagster-daemon (GraphQL `launchPartitionBackfill`, as the UI); in-run = launch → "
            "the backfill's end, process = services started → stopped, peak RSS = the largest "
            "run process (sampled), written = PUT bodies moto accepted; no weekly files. "
            + (
                f"Ratios against the floor of {floor['case']} (which also writes the weeks)."
                if floor
                else "No floor ran in this invocation: no ratios."
            ),
        ]
    lines += [
        "",
        "| case | path | start s | imports s | in-run CPU s | exit s | simulator busy s "
        "| store GET / HEAD / PUT | S3 GET / HEAD / PUT | read MB | runs | in runs s "
        "| same files¹ |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r, name, label in rows:
        c = r.get("counters", {})
        ops = (
            " / ".join(str(int(c.get(f"store_{op}", 0))) for op in ("get", "head", "put"))
            if any(k.startswith("store_") for k in c)
            else "-"
        )
        runs = r.get("runs") or []
        same = {True: "yes", False: "NO"}.get(r.get("files_identical_to_other_path"), "-")
        if r.get("files_identical_to_other_path") is False and not r.get("ui"):
            differing = r.get("files_differing") or []
            same += f" ({len(differing)}: {', '.join(differing[:2])})"
        if r.get("ui") and r.get("files_compared"):
            same += f" (daily/rolling: {r['files_compared']} files)"
        if r.get("cache_identical") is False:
            same += " (cache differs)"
        if r.get("oplog_identical") is False:
            same += " (op log differs)"
        lines.append(
            f"| {name} | {label} | "
            f"{_fmt(r.get('startup_s'), 2)} | {_fmt(r.get('imports_s'), 2)} | "
            f"{_fmt(r.get('in_run_cpu_s'))} | {_fmt(r.get('exit_s'), 2)} | "
            f"{_fmt(r.get('sim_busy_s'))} | {ops} | {_s3_cell(r)} | "
            f"{_fmt(_mb(c.get('bytes_read')))} | "
            f"{_runs_cell(r)} | {_fmt(sum(x['seconds'] for x in runs))} | {same} |"
        )
    lines += [
        "",
        "¹ the two paths' stats buckets after the case's group, object by object (everything "
        "either wrote: report files, per-video minutes, catalogue snapshots, each creator's "
        "files and manifests, pointers and the index); the metadata cache (its fullListingAt "
        "as set or not) and the operation-log records (without timestamp, run id and "
        "duration) are compared too and only named when they differ.",
    ]
    if ui:
        lines += [
            "",
            "UI path: where the time goes (s; run gaps = one run's end to the next one's "
            "start; RSS and CPU sampled from /proc every 0.5 s):",
            "",
            "| case | services ready | launch → 1st run start | run gaps min / mean / max "
            "| last run end → backfill end | backfill end → seen | services stop "
            "| run RSS MB max | webserver / daemon / code server RSS MB | services CPU s |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for r in ui:
            g = r.get("gaps") or {}
            between = g.get("between_runs_s") or []
            gaps = (
                f"{min(between):.1f} / {sum(between) / len(between):.1f} / {max(between):.1f}"
                if between
                else "-"
            )
            kinds = (r.get("processes") or {}).get("by_kind", {})
            rss = " / ".join(
                _fmt(kinds.get(k, {}).get("max_vm_hwm_mb"), 0)
                for k in ("webserver", "daemon", "code server")
            )
            lines.append(
                f"| {r['case']} | {_fmt(r.get('ready_s'))} | "
                f"{_fmt(g.get('launch_to_first_start_s'))} | {gaps} | "
                f"{_fmt(g.get('last_end_to_backfill_end_s'))} | "
                f"{_fmt(g.get('backfill_end_to_observed_s'))} | {_fmt(r.get('stop_s'))} | "
                f"{_fmt(r.get('maxrss_mb'), 0)} | {rss} | {_fmt(r.get('services_cpu_s'))} |"
            )
    lines += [
        "",
        "Cloudflare budgets (the simulator's are off; computed from the counts: "
        f"{NODE_BUDGET} GraphQL nodes and {CALL_BUDGET} API calls per 5 minutes; API calls "
        "= REST calls + GraphQL requests):",
        "",
        "| case | path | nodes | API calls | peak nodes / 5 min | peak REST / 5 min "
        "| peak calls / 5 min | min. time under budgets s | in-run with budgets ≥ s |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r, name, label in rows:
        lines.append(
            f"| {name} | {label} | {r['nodes']} | "
            f"{r['graphql_requests'] + r['rest_calls']} | {r['peak_nodes_5min']} | "
            f"{r['peak_rest_5min']} | {r['peak_calls_5min']} | {r['budget_min_s']:.0f} | "
            f"{_fmt(r.get('in_run_with_budgets_s'))} |"
        )
    if any(r.get("client_pacing_may_have_waited") for r in ui):
        lines += [
            "",
            "Note: the UI path's run processes pace themselves (280 nodes / 1100 calls per "
            "5 min each) and this backfill spent more than that in some 5 minutes: a run may "
            "have waited.",
        ]
    lines += ["", "Goals:", ""]
    for g in goals(results, alone):
        verdict = "PASS" if g["pass"] else "FAIL" if g["pass"] is False else g.get("label", "n/a ")
        lines.append(f"- {verdict} {g['goal']}: {g['measured']}")
    return "\n".join(lines)


def goals(
    results: list[dict[str, Any]], alone: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Issue 11's targets (seed scale, 300 ms latency, product and floor in one run), and
    beside the warm day's, what Dagster alone costs for the same job (`bench.alone`)."""
    by = {(r["case"], r["path"]): r for r in results}
    out: list[dict[str, Any]] = []

    def ratio(case: str, key: str) -> float | None:
        d, f = by.get((case, "dagster")), by.get((case, "floor"))
        if not d or not f or d.get(key) is None or not f.get(key):
            return None
        return d[key] / f[key]

    def limit(case: str, key: str, name: str, most: float, unit: str) -> dict[str, Any]:
        d = by.get((case, "dagster"))
        if not d or d.get(key) is None:
            return {"goal": name, "measured": "not measured", "pass": None}
        f = by.get((case, "floor"))
        floor = f" (floor {f[key]:.0f} {unit})" if f and f.get(key) is not None else ""
        return {
            "goal": name,
            "measured": f"{d[key]:.0f} {unit}{floor}",
            "pass": d[key] <= most,
        }

    warm = WARM_CASE
    out.append(_goal("warm day (local dir), whole process ≤ 2× floor", ratio(warm, "process_s"), 2))
    out.append(_goal("warm day (local dir), in-run ≤ 1.5× floor", ratio(warm, "in_run_s"), 1.5))
    out.append(limit(warm, "maxrss_mb", "warm day (local dir), peak RSS ≤ 200 MiB", 200, "MiB"))
    floor = by.get((warm, "floor"))
    if alone and floor and not alone.get("failed"):
        out.append(
            {
                "goal": "for reference, Dagster alone (the warm day's job with no work in it, "
                "bench/alone.py)",
                "measured": f"in-run {alone['in_run_s']:.1f} s "
                f"({alone['in_run_s'] / floor['in_run_s']:.2f}× floor), whole process "
                f"{alone['process_s']:.1f} s ({alone['process_s'] / floor['process_s']:.2f}× "
                f"floor), peak RSS {alone['maxrss_mb']:.0f} MiB, "
                f"{alone['dagster_events']} Dagster events",
                "pass": None,
                "label": "info",
            }
        )
    out.append(
        limit("days-7-local", "maxrss_mb", "7-day run (local dir), peak RSS ≤ 400 MiB", 400, "MiB")
    )
    backfill = next(
        (
            r["case"]
            for r in results
            if r["case"].startswith("backfill-") and r["storage"] == "s3" and not r.get("ui")
        ),
        None,
    )
    if backfill:
        name = f"{backfill} (S3) through collect ≤ 360 s"
        out.append(limit(backfill, "in_run_s", name, 360, "s"))
        d, f = by.get((backfill, "dagster")), by.get((backfill, "floor"))
        if d and f:
            out.append(
                {
                    "goal": f"{backfill}: the floor's GraphQL nodes (450 for 90 days)",
                    "measured": f"{d['nodes']} vs {f['nodes']}",
                    "pass": d["nodes"] <= f["nodes"],
                }
            )
    if results:
        worst = max(results, key=lambda r: (r["peak_calls_5min"], r["peak_rest_5min"]))
        out.append(
            {
                "goal": "cold metadata fill never trips the REST budget (≤ 1200 calls / 5 min)",
                "measured": f"max {worst['peak_rest_5min']} REST calls "
                f"({worst['peak_calls_5min']} incl. GraphQL) in 5 min ({worst['case']})",
                "pass": worst["peak_calls_5min"] <= CALL_BUDGET,
            }
        )
    return out


def _goal(name: str, ratio: float | None, limit: float) -> dict[str, Any]:
    if ratio is None:
        return {"goal": name, "measured": "not measured", "pass": None}
    return {"goal": name, "measured": f"{ratio:.2f}×", "pass": ratio <= limit}


def print_machine(m: dict[str, Any]) -> None:
    print(
        f"machine: {m['platform']}; Python {m['python']}; {m['cpus']} CPUs; "
        f"{m['memory_gb']} GB RAM; {m['processor']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small platform (simulator small_config) and a 10-day backfill",
    )
    parser.add_argument(
        "--cases",
        default=None,
        help="comma-separated: day-cold, day-warm, day-cold-local, "
        "day-warm-local, backfill-N, backfill-N-local, backfill-N-ui (default: all but "
        "backfill-N-local and backfill-N-ui)",
    )
    parser.add_argument("--out", help="results JSON (default bench/results/<timestamp>.json)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each case under cProfile (.prof next to the results)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.3,
        help="seconds the simulator adds to every API call (default 0.3)",
    )
    parser.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=dt.date(2025, 6, 30),
        help="the one-day case's day and the backfill's last day",
    )
    parser.add_argument(
        "--backfill-days", type=int, default=None, help="backfill length (default 90, --quick 10)"
    )
    parser.add_argument(
        "--client-pacing",
        action="store_true",
        help="keep the client's own pacing (280 nodes / 1100 calls per 5 min)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.backfill_days is None:
        args.backfill_days = 10 if args.quick else 90
    args.cases = args.cases.split(",") if args.cases else list(DEFAULT_CASES)
    Bench(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
