"""`make demo`'s live session (`stream-stats live-demo`): a throwaway redis-server whose clock
starts a few minutes before the last midnight of the report time zone, the simulator's
evening in it, the sampler every second, then `live-collect` of the day that just ended, so
that a demo shows the files of a whole (short) live session at once. The machine's clock is
not touched: only that redis-server's, with libfaketime (`servers.py`).

`--failures` switches on the simulator's four failure modes at fixed shares of the session
(a counter reset at 30 %, a stage decoupled at 40 %, leaves never sent in 55-70 % with the
cleanup stopped in 55-90 %) and has the sampler reconcile with a fake IVS that the simulator
serves with its truth, so the day's `live_drift` shows each kind of drift."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from .servers import MissingTool, RedisServer, free_port

CLI = [sys.executable, "-m", "stream_stats_dagster.cli"]


def run_demo(
    seconds: float,
    timezone: str,
    spool: Path,
    say: Callable[[str], None],
    failures: bool = False,
) -> int:
    midnight = dt.datetime.now(ZoneInfo(timezone)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    day = (midnight - dt.timedelta(days=1)).date()
    clock = midnight.astimezone(dt.UTC) - dt.timedelta(seconds=seconds + 15)
    shutil.rmtree(spool, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="stream-stats-live-demo-") as tmp:
        try:
            server = RedisServer(Path(tmp) / "redis", clock_at=clock).start()
        except MissingTool as exc:
            say(f"live demo skipped: {exc}")
            return 0
        sampler: subprocess.Popen | None = None
        try:
            say(
                f"live demo: a {seconds:.0f} s session in a redis-server whose clock starts "
                f"at {clock:%Y-%m-%d %H:%M:%S} UTC ({seconds + 15:.0f} s before {timezone}'s "
                f"midnight), sampled every second"
            )
            env = {
                **os.environ,
                "REDIS_URL": server.url(),
                "LIVE_SAMPLE_SECONDS": "1",
                "LIVE_SPOOL_DIR": str(spool),
                "LIVE_HEARTBEAT_SCAN_SECONDS": "5",
                "LIVE_FRESH_SECONDS": "10",  # the simulator's --silent
            }
            extra: list[str] = []
            if failures:
                port = free_port()
                env.update(
                    LIVE_IVS_REGION="ap-northeast-1",
                    LIVE_IVS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
                    LIVE_IVS_SECONDS="5",
                    AWS_ACCESS_KEY_ID="demo-not-a-key",
                    AWS_SECRET_ACCESS_KEY="demo-not-a-secret",
                )
                s = seconds
                extra = [
                    "--vanish-share",
                    "0",
                    "--reset-at",
                    f"{0.3 * s:g}",
                    "--decouple-at",
                    f"{0.4 * s:g}",
                    "--no-leaves",
                    f"{0.55 * s:g}:{0.7 * s:g}",
                    "--cleanup-stopped",
                    f"{0.55 * s:g}:{0.9 * s:g}",
                    "--fake-ivs-port",
                    str(port),
                ]
                say("live demo: the four failure modes on, reconciled with a fake IVS")
            sampler = subprocess.Popen([*CLI, "live-sampler", "--for", str(seconds + 25)], env=env)
            log = spool.parent / "live-demo-changes.jsonl"
            log.parent.mkdir(parents=True, exist_ok=True)  # the sampler may not have made it yet
            log.unlink(missing_ok=True)
            subprocess.run(
                [
                    *CLI,
                    "live-simulator",
                    "--seconds",
                    str(seconds),
                    "--log",
                    str(log),
                    "--heartbeat",
                    "5",
                    "--silent",
                    "10",
                    "--cleanup",
                    "5",
                    *extra,
                ],
                env={**env, "REDIS_URL": server.url(sampler=False)},
                check=True,
            )
            sampler.wait()
        finally:
            if sampler is not None and sampler.poll() is None:  # the simulator failed
                sampler.terminate()
                sampler.wait(timeout=60)
            server.stop()
        say(f"live demo: the simulator's log of every change: {log}")
    return subprocess.run([*CLI, "live-collect", "--date", day.isoformat()]).returncode
