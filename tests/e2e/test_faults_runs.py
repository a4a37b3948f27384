"""The fault matrix of issue 13, with real processes, a real Dagster instance on disk and real
files: runs killed with SIGKILL at chosen points, interrupted with SIGINT/SIGTERM, waiting for
a pool slot, failing on a corrupt raw file or between pointer writes.

Outcomes are asserted, not wall-clock times: deadlines only guard against a hang. The
measured times (stop on interrupt, time to say what a pool wait is for) are printed
(`pytest -s`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from stream_stats_dagster import cli, runs
from stream_stats_dagster.files import ASSET_FILES
from stream_stats_dagster.keys import INDEX_KEY, rolling_pointer_key
from tests.support.pipeline import pipeline_env, simulator_server, stored_files

DAY = "2025-03-02"  # with START_DATE 2025-03-01: one lead raw day, then raw+daily+rolling
STATS = "points-system-bucket"
HANG_GUARD = 240  # seconds; only a hang takes this long
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clean(sim, tmp_path_factory):
    """The files of a clean `collect --date DAY`, the reference every recovery converges to."""
    tmp = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as mp:
        env = pipeline_env(mp, tmp, sim[1])
        assert cli.main(["collect", "--date", DAY]) == 0
        return stored_files(Path(env["STREAM_STATS_LOCAL_DIR"]))


def start_cli(
    tmp: Path, *args: str, pause_at: str | None = None, session: bool = False
) -> tuple[subprocess.Popen, Path]:
    """The CLI as a process of its own (environment from `pipeline_env`), output to files."""
    marker = tmp / f"paused-{time.monotonic_ns()}"
    env = dict(os.environ)
    if pause_at:
        env.update(STREAM_STATS_TEST_PAUSE_AT=pause_at, STREAM_STATS_TEST_PAUSE_FILE=str(marker))
    out = open(tmp / f"out-{marker.name}.txt", "w+b")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.faulty_cli", *args],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=session,  # a process group of its own, as a terminal gives it
    )
    proc.out = out  # type: ignore[attr-defined]
    return proc, marker


def output(proc: subprocess.Popen) -> str:
    proc.out.flush()  # type: ignore[attr-defined]
    return Path(proc.out.name).read_text(errors="replace")  # type: ignore[attr-defined]


def wait_for(condition, what: str, proc: subprocess.Popen | None = None, timeout=HANG_GUARD):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended before {what}:\n{output(proc)[-3000:]}")
        time.sleep(0.1)
    raise AssertionError(f"no {what} after {timeout} s")


@contextlib.contextmanager
def killed_at_the_end(proc: subprocess.Popen):
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.out.close()  # type: ignore[attr-defined]


def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get()


def held_slots(inst: dg.DagsterInstance) -> list[str]:
    storage = inst.event_log_storage
    infos = storage.get_concurrency_infos(sorted(storage.get_concurrency_keys()))
    return [slot.run_id for info in infos.values() for slot in info.claimed_slots]


@contextlib.contextmanager
def slow_collect_holding_its_slot(monkeypatch, tmp_path: Path, session: bool = False):
    """`collect --date DAY` against a simulator that takes 2 s for every API call, once its
    raw_extract holds the `cloudflare` pool slot: (simulator, store root, process, instance,
    the run holding the slot). The process is killed when the block ends, if still alive."""
    with simulator_server(latency_seconds=2.0) as (slow, base_url):
        env = pipeline_env(monkeypatch, tmp_path, base_url)
        root = Path(env["STREAM_STATS_LOCAL_DIR"])
        proc, _ = start_cli(tmp_path, "collect", "--date", DAY, session=session)
        with killed_at_the_end(proc):
            wait_for(lambda: " ...\n" in output(proc), "a run", proc)  # the instance exists
            inst = instance()
            (run_id,) = wait_for(lambda: held_slots(inst), "raw_extract holding its slot", proc)
            yield slow, root, proc, inst, run_id


def records_of(root: Path, run_id: str) -> list[dict]:
    found = [json.loads(p.read_text()) for p in (root / "logs-bucket").rglob(f"*-{run_id}.json")]
    return sorted(found, key=lambda r: (r["operation"], r["date"]))


def index_is_one_window(root: Path) -> None:
    """index.json names only files that exist, and its rolling files are one window."""
    index = json.loads((root / STATS / INDEX_KEY).read_text())
    for entry in (e for e in (index.get(k) for k in ("daily", "weekly", "rolling")) if e):
        for key in entry["files"].values():
            assert (root / STATS / key).exists(), key
    rolling = index["rolling"]
    ends = {
        json.loads((root / STATS / k).read_text())["endDate"] for k in rolling["files"].values()
    }
    assert ends == {rolling["date"]}


# --- SIGKILL at three points, then `collect` in the same DAGSTER_HOME ----------------------


@pytest.mark.parametrize(
    ("pause_at", "step", "failed"),
    [
        # the day's raw_extract, writing its lead day: it holds the "cloudflare" pool slot
        ("/raw/", "raw_extract", ("collectDailyStats", DAY)),
        (f"/daily/2025-03/{DAY}-", "daily_reports", ("collectDailyStats", DAY)),
        # between the window's pointer writes: creators moved, countries not yet
        ("rolling/last7days-countries", "rolling_reports", ("updateRollingStats", DAY)),
    ],
    ids=["raw_extract", "daily_step", "pointer_write"],
)
def test_sigkill_then_collect_converges(monkeypatch, tmp_path, sim, clean, pause_at, step, failed):
    env = pipeline_env(monkeypatch, tmp_path, sim[1])
    root = Path(env["STREAM_STATS_LOCAL_DIR"])
    proc, marker = start_cli(tmp_path, "collect", "--date", DAY, pause_at=pause_at)
    with killed_at_the_end(proc):
        wait_for(marker.exists, f"a pause at {pause_at}", proc)
        inst = instance()
        (dead,) = inst.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        assert dead.tags[runs.PID_TAG] == str(proc.pid)
        if step == "raw_extract":
            assert held_slots(inst) == [dead.run_id]  # what used to wedge the instance
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert inst.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.STARTED

    assert cli.main(["collect", "--date", DAY]) == 0

    assert inst.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
    assert held_slots(inst) == []
    records = records_of(root, dead.run_id)
    # one record per operation and date of the run (the day's run: its raw step fetched the
    # lead day 03-01 itself): a success if its step finished, else a failure written once
    # (by the reaper, as the run's own hooks never ran)
    ops = ["collectDailyStats", "updateRollingStats"]
    assert [(r["operation"], r["date"]) for r in records] == [(o, DAY) for o in ops]
    failures = [r for r in records if not r["success"]]
    assert failed in {(r["operation"], r["date"]) for r in failures}
    assert all("is gone" in r["error"] for r in failures)
    assert stored_files(root) == clean
    index_is_one_window(root)


# --- SIGINT / SIGTERM during raw_extract --------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "group"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGINT", "SIGTERM", "Ctrl-C-to-the-group"],
)
def test_interrupt_during_raw_extract_stops_the_run(monkeypatch, tmp_path, signum, group):
    """A signal to the process, or Ctrl-C in a terminal (SIGINT to the whole process group,
    Dagster's helper processes included): the run is canceled and the process ends with the
    same one-line outcome, no traceback."""
    # every API call takes 2 s, so the raw extract is mid-request when the signal comes
    with slow_collect_holding_its_slot(monkeypatch, tmp_path, session=group) as (
        slow,
        root,
        proc,
        inst,
        run_id,
    ):
        wait_for(lambda: slow.stats.graphql_requests > 0, "a GraphQL request", proc)
        sent = time.monotonic()
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        code = proc.wait(timeout=HANG_GUARD)
        stopped = time.monotonic() - sent
        time.sleep(1.5)  # the helper processes' last words, if any, would come now
        text = output(proc)
    print(f"\n{signal.Signals(signum).name}: process ended {stopped:.2f} s after the signal")
    assert code == 128 + signum, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert f"CANCELED (interrupted by {signal.Signals(signum).name})" in text, text
    [error] = [line for line in text.splitlines() if line.startswith("stream-stats: error:")]
    assert f"interrupted by {signal.Signals(signum).name}" in error
    run = inst.get_run_by_id(run_id)
    assert run.status == dg.DagsterRunStatus.CANCELED
    retries = inst.all_logs(run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert retries == []
    assert held_slots(inst) == []
    records = records_of(root, run_id)
    assert [(r["operation"], r["date"], r["success"]) for r in records] == [
        ("collectDailyStats", DAY, False),
        ("updateRollingStats", DAY, False),
    ]
    assert all("interrupted by" in r["error"] for r in records)


# --- a run waiting for a slot held by a live run, then by a dead one ----------------------


def test_pool_wait_says_who_holds_the_slot_and_ctrl_c_ends_it(monkeypatch, tmp_path, sim, clean):
    with slow_collect_holding_its_slot(monkeypatch, tmp_path) as (_, root, holder, inst, held):
        waiter, _ = start_cli(tmp_path, "collect", "--date", DAY)
        with killed_at_the_end(waiter):
            started = wait_for(
                lambda: " ...\n" in output(waiter) and time.monotonic(), "a run", waiter
            )
            waits = lambda: "waiting: pool 'cloudflare'" in output(waiter)  # noqa: E731
            wait_for(waits, "a wait line", waiter)
            said = time.monotonic() - started
            line = next(x for x in output(waiter).splitlines() if "waiting: pool" in x)
            assert f"held by run {held[:8]} (raw_extract, pid {holder.pid} on " in line
            assert " since " in line and "Ctrl-C" in line
            sent = time.monotonic()
            waiter.send_signal(signal.SIGINT)
            code = waiter.wait(timeout=HANG_GUARD)
            stopped = time.monotonic() - sent
        print(f"\n{line}\npool wait: said what it waits for {said:.2f} s after its run began")
        print(f"pool wait: SIGINT ended it in {stopped:.2f} s")
        assert code == 130
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # the dead holder is found, failed and freed before the next run: no wait at all
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", sim[1])  # no latency: same data
    assert cli.main(["collect", "--date", DAY]) == 0
    active = inst.get_runs(filters=dg.RunsFilter(statuses=runs.ACTIVE))
    assert active == [] and held_slots(inst) == []
    assert inst.get_run_by_id(held).status in (
        dg.DagsterRunStatus.FAILURE,  # killed while it held the slot
        dg.DagsterRunStatus.SUCCESS,  # or it had finished its first run by then
    )
    assert stored_files(root) == clean


# --- a corrupt raw file, and a failure between pointer writes -----------------------------


def test_truncated_raw_file_fails_only_the_days_that_read_it(monkeypatch, tmp_path, sim, capsys):
    env = pipeline_env(monkeypatch, tmp_path, sim[1])
    root = Path(env["STREAM_STATS_LOCAL_DIR"])
    assert cli.main(["collect", "--from", "2025-03-01", "--to", "2025-03-10"]) == 0
    bad = ASSET_FILES["raw_creator_minutes"].key("2025-03-02")
    body = (root / STATS / bad).read_bytes()
    (root / STATS / bad).write_bytes(body[: len(body) // 2])
    derived = [k for k in stored_files(root) if "/daily/" in k or "/history/" in k]
    for key in derived:
        (root / STATS / key).unlink()
    capsys.readouterr()

    assert cli.main(["rebuild", "--from", "2025-03-01", "--to", "2025-03-10"]) == 1

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"{STATS}/{bad} (day 2025-03-02) is not a valid creator-minutes file" in err[0]
    written = {d for d in (f"2025-03-{n:02d}" for n in range(1, 11))
               if (root / STATS / ASSET_FILES["summary"].key(d)).exists()}  # fmt: skip
    readers = {f"2025-03-{n:02d}" for n in range(2, 9)}  # 03-02 .. 03-08 read it
    assert written == {"2025-03-01", "2025-03-09", "2025-03-10"}
    for day in written:
        assert (root / STATS / ASSET_FILES["rolling_summary"].key(day)).exists()
    records = [json.loads(p.read_text()) for p in (root / "logs-bucket").rglob("*.json")]
    rebuild_failures = {
        r["date"] for r in records if not r["success"] and "creator-minutes" in r["error"]
    }
    assert rebuild_failures == readers  # failure records name only the days that read it


def test_failure_between_pointer_writes_keeps_index_on_one_window(monkeypatch, tmp_path, sim):
    from stream_stats_dagster.storage.base import StorageError
    from stream_stats_dagster.storage.local import LocalStore

    env = pipeline_env(monkeypatch, tmp_path, sim[1])
    root = Path(env["STREAM_STATS_LOCAL_DIR"])
    assert cli.main(["collect", "--date", DAY]) == 0
    original = LocalStore.put

    def put(self, bucket, key, body, **kwargs):
        if key == rolling_pointer_key("countries"):
            raise StorageError("injected: disk full")
        return original(self, bucket, key, body, **kwargs)

    monkeypatch.setattr(LocalStore, "put", put)
    assert cli.main(["collect", "--date", "2025-03-03"]) == 1
    pointer = lambda n: json.loads((root / STATS / rolling_pointer_key(n)).read_text())  # noqa: E731
    assert pointer("creators")["endDate"] == "2025-03-03"  # moved before the failure
    assert pointer("countries")["endDate"] == DAY
    index_is_one_window(root)
    assert json.loads((root / STATS / INDEX_KEY).read_text())["rolling"]["date"] == DAY

    monkeypatch.setattr(LocalStore, "put", original)
    assert cli.main(["collect", "--date", "2025-03-03"]) == 0  # the pointers converge
    assert {pointer(n)["endDate"] for n in ("creators", "countries", "summary")} == {"2025-03-03"}
    index_is_one_window(root)
    assert json.loads((root / STATS / INDEX_KEY).read_text())["rolling"]["date"] == "2025-03-03"


# --- a day that has not ended -------------------------------------------------------------


def test_a_day_that_has_not_ended_is_refused_before_any_run(monkeypatch, tmp_path, sim, capsys):
    env = pipeline_env(monkeypatch, tmp_path, sim[1])
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()  # Asia/Seoul
    sim[0].stats.reset()
    assert cli.main(["collect", "--date", today.isoformat()]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"the last complete day is {today - dt.timedelta(days=1)}" in err[0]
    assert sim[0].stats.as_dict()["graphql_requests"] == 0
    assert sim[0].stats.as_dict()["rest_calls"] == 0
    home = Path(env["DAGSTER_HOME"])
    if home.exists():
        with dg.DagsterInstance.get() as inst:
            assert inst.get_runs() == []
    assert not Path(env["STREAM_STATS_LOCAL_DIR"]).exists()
