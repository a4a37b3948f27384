"""What the CLI does for runs in its own process (`runs`): partitions tagged like a backfill,
dead runs reaped, pool waits named, outputs released, signals; public Dagster APIs only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import stream_stats_dagster
from stream_stats_dagster.runs import partition_tags

PACKAGE = Path(stream_stats_dagster.__file__).resolve().parent


def test_partition_tags_for_one_day_and_a_range():
    assert partition_tags(["2025-03-02"]) == {"dagster/partition": "2025-03-02"}
    assert partition_tags(["2025-03-02", "2025-03-03", "2025-03-04"]) == {
        "dagster/asset_partition_range_start": "2025-03-02",
        "dagster/asset_partition_range_end": "2025-03-04",
    }


def test_the_package_imports_only_public_dagster_modules():
    """...but for the one documented exception, `defs/check_targets.py` (see its docstring)."""
    private = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            private += [
                f"{path.relative_to(PACKAGE)}: {n}"
                for n in names
                if n.split(".")[0].startswith("dagster") and "._" in n
            ]
    exception = (
        "defs/check_targets.py: dagster._core.definitions.asset_checks.asset_check_evaluation"
    )
    assert private == [exception]


# --- which runs are dead, what a pool wait waits for -------------------------------------


def _run_of(tags: dict[str, str]):
    import dagster as dg

    return dg.DagsterRun(job_name="j", run_id="r", tags=tags)


def test_a_process_is_alive_until_it_ends_even_as_a_zombie():
    import os
    import subprocess
    import sys
    import time

    from stream_stats_dagster.runs import PID_TAG, PROCESS_START_TAG, is_dead, process_tags

    tags = process_tags()
    assert tags[PID_TAG] == str(os.getpid())
    assert not is_dead(_run_of(tags))
    # a pid reused by another process is not the run's process
    assert is_dead(_run_of({**tags, PROCESS_START_TAG: "1.00"}))
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    of_child = _run_of({**tags, PID_TAG: str(child.pid)})
    of_child.tags.pop(PROCESS_START_TAG)
    deadline = time.monotonic() + 60
    while not is_dead(of_child) and time.monotonic() < deadline:
        time.sleep(0.05)  # exited but not yet waited for: a zombie, gone all the same
    assert is_dead(of_child)
    child.wait()
    assert is_dead(of_child)
    assert not is_dead(_run_of({**tags, "stream_stats/host": "another-host"}))


def test_a_pool_wait_names_the_holder_and_slots_of_ended_runs_are_freed():
    import dagster as dg

    from stream_stats_dagster.runs import free_slots_of_ended_runs, pool_waits

    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as inst:
        storage = inst.event_log_storage
        storage.initialize_concurrency_limit_to_default("cloudflare")
        assert storage.claim_concurrency_slot("cloudflare", "holder-run", "raw_extract").is_claimed
        assert not storage.claim_concurrency_slot(
            "cloudflare", "waiter-run", "raw_extract"
        ).is_claimed
        (line,) = pool_waits(inst, "waiter-run")
        assert line.startswith("pool 'cloudflare': raw_extract waits for a slot held by ")
        assert "held by run holder-r (raw_extract) since " in line and "Ctrl-C" in line
        assert pool_waits(inst, "holder-run") == []
        # neither run exists in this instance: both count as ended, and lose their claims
        assert sorted(free_slots_of_ended_runs(inst)) == ["holder-run", "waiter-run"]
        assert storage.get_concurrency_info("cloudflare").claimed_slots == []


CHILD = """
import sys, time
import dagster as dg
from stream_stats_dagster.defs.storage_resource import StorageResource

@dg.asset
def slow(storage: StorageResource):
    time.sleep(600)

dg.materialize([slow], resources={"storage": StorageResource(local_dir=sys.argv[1])},
               instance=dg.DagsterInstance.get())
"""


def test_a_run_launched_outside_the_cli_is_tagged_and_reaped_by_the_sensor(tmp_path, monkeypatch):
    """Runs not started by `stream-stats` (the daemon's, `dagster asset materialize`) get
    their host and pid from the storage resource; the sensor fails them once they are gone."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import dagster as dg

    from stream_stats_dagster.defs.storage_resource import StorageResource
    from stream_stats_dagster.runs import PID_TAG
    from tests.support.definitions import location_module

    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "data")], env=env)
    try:
        with dg.instance_for_test(temp_dir=str(home)) as inst:
            deadline = time.monotonic() + 120
            runs = []
            while not runs and time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.2)
                started = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
                runs = [
                    r
                    for r in inst.get_runs(filters=started)
                    if r.tags.get(PID_TAG) == str(child.pid)
                ]
            (run,) = runs
            sensor = location_module(
                monkeypatch, "stream_stats_dagster.defs.automation.sensors"
            ).dead_run_reaper
            storage = StorageResource(local_dir=str(tmp_path / "data"))
            context = dg.build_sensor_context(instance=inst, resources={"storage": storage})
            assert "0 dead run(s)" in sensor(context).skip_message  # alive: left alone
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            assert "1 dead run(s)" in sensor(context).skip_message
            assert inst.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)


# --- execution: outputs are not kept for the length of the run ----------------------------


class _Payload:
    """A step output that can be watched (a weakref says when nothing holds it any more)."""


def test_a_cli_run_releases_each_output_once_it_is_stored(tmp_path):
    """`execute_in_process` keeps every step output until the run ends (a 7-day run held
    its raw and daily frames through the rolling step); the CLI's runs do not."""
    import gc
    import weakref

    import dagster as dg

    from stream_stats_dagster.defs.storage_resource import StorageResource
    from stream_stats_dagster.runs import LAUNCH_TAG, RunInThisProcess

    watched: list[weakref.ref] = []
    seen: dict[str, bool] = {}
    days = dg.StaticPartitionsDefinition(["2025-03-02"])

    @dg.asset(partitions_def=days)
    def upstream() -> _Payload:
        payload = _Payload()
        watched.append(weakref.ref(payload))
        return payload

    @dg.asset(partitions_def=days)
    def downstream(upstream: _Payload) -> None:
        del upstream  # a copy the IO manager loaded back, not the object upstream returned
        gc.collect()
        seen["upstream output alive"] = watched[0]() is not None

    defs = dg.Definitions(
        assets=[upstream, downstream],
        jobs=[dg.define_asset_job("pair", selection=[upstream, downstream])],
        resources={"storage": StorageResource(local_dir=str(tmp_path / "data"))},
        executor=dg.in_process_executor,
    )
    with dg.instance_for_test() as instance:
        runs = RunInThisProcess(defs, instance, lambda run, message: 0, echo=lambda _: None)
        outcome = runs.run("pair", ["2025-03-02"], "pair 2025-03-02")
        assert outcome.success, outcome.error
        assert seen == {"upstream output alive": False}
        assert RunInThisProcess._defs == {}  # the job's definitions are not held after the run
        run = instance.get_run_by_id(outcome.run_id)
        assert run is not None and LAUNCH_TAG in run.tags


def test_a_signal_before_the_run_exists_ends_the_process_with_nothing_to_cancel(
    tmp_path, monkeypatch, capsys
):
    """Between the launch and the run's creation there is no run to mark canceled: the
    process still ends at once, with the signal's exit status, and says so."""
    import os
    import signal
    import time

    import dagster as dg

    from stream_stats_dagster.runs import RunInThisProcess

    exits: list[int] = []

    def fake_exit(code: int) -> None:
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(os, "_exit", fake_exit)
    said: list[str] = []
    with dg.instance_for_test() as instance:
        runs = RunInThisProcess(dg.Definitions(), instance, lambda r, m: 0, echo=said.append)
        with pytest.raises(SystemExit):
            runs._interrupted(None, "raw 2025-03-02", signal.SIGINT, time.monotonic())
        assert instance.get_runs() == []
    assert exits == [128 + signal.SIGINT]
    assert said and "CANCELED (interrupted by SIGINT)" in said[0]
    assert "before its run was created" in said[0]
    assert "interrupted by SIGINT; before its run was created" in capsys.readouterr().err


def test_a_cli_run_killed_before_it_started_is_failed_by_the_next_reap():
    """A run is created (tagged with its process) before it starts; a process killed in
    between leaves it NOT_STARTED. The next reap fails it; one of a live process stays."""
    import subprocess
    import sys

    import dagster as dg

    from stream_stats_dagster import runs

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = {**runs.process_tags(), runs.PID_TAG: str(child.pid)}
    dead.pop(runs.PROCESS_START_TAG, None)

    @dg.asset
    def an_asset() -> None:
        pass

    job = dg.Definitions(assets=[an_asset], jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    with dg.instance_for_test() as inst:
        gone = inst.create_run_for_job(job, tags=dead)
        alive = inst.create_run_for_job(job, tags=runs.process_tags())
        assert gone.status == alive.status == dg.DagsterRunStatus.NOT_STARTED
        reaped = runs.reap_dead_runs(inst, lambda run, message: 0)
        assert [r.run_id for r in reaped] == [gone.run_id]
        assert inst.get_run_by_id(gone.run_id).status == dg.DagsterRunStatus.FAILURE
        assert inst.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.NOT_STARTED


def test_log_messages_the_database_did_not_take_are_kept_off_the_terminal(capsys):
    """Dagster writes a line to standard error for each log message the instance's database
    did not store: while a run executes, those are kept (said once as a warning, or folded
    into the database's one-line error) and everything else still reaches the terminal."""
    import sys

    from stream_stats_dagster.progress import DAGSTER_STORAGE_NOISE, without_storage_noise

    with without_storage_noise() as unstored:
        sys.stderr.write(f"{DAGSTER_STORAGE_NOISE}too many retries for DB connection\n")
        sys.stderr.write("something else\n")
    sys.stderr.write(f"{DAGSTER_STORAGE_NOISE}after the run\n")
    assert unstored.lines == ["too many retries for DB connection"]
    assert capsys.readouterr().err == f"something else\n{DAGSTER_STORAGE_NOISE}after the run\n"


def test_a_run_thread_left_behind_on_an_error_keeps_its_unstored_lines_off_the_terminal(capsys):
    """The main thread can leave on the database's error while the run's thread still logs
    (found on a loaded machine: the line came after the one-line error): its lines stay
    filtered until it ends."""
    import sys
    import threading

    from stream_stats_dagster.progress import DAGSTER_STORAGE_NOISE, without_storage_noise

    stderr, finish = sys.stderr, threading.Event()

    def run() -> None:
        finish.wait(10)
        sys.stderr.write(f"{DAGSTER_STORAGE_NOISE}too many retries for DB connection\n")

    worker = threading.Thread(target=run)
    try:
        with pytest.raises(RuntimeError), without_storage_noise() as unstored:
            unstored.runs.append(worker)
            worker.start()
            raise RuntimeError("the database stopped answering")
        sys.stderr.write("the one-line error\n")
        finish.set()
        worker.join(10)
        assert unstored.lines == ["too many retries for DB connection"]
        assert capsys.readouterr().err == "the one-line error\n"
    finally:
        finish.set()
        sys.stderr = stderr
