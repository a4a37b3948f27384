"""Live viewers at the issue's scale: 1,000 stages and 100,000 heartbeat fields.

    .venv/bin/python -m bench.live [--reads 50] [--sampler-seconds 60]

Measures, on a throwaway Debian redis-server on loopback:
- one sample (`RedisReader.read`: one MULTI/EXEC of TIME, the total, the publisher, two MGETs
  of 1,000 keys and 1,000 HLENs), over `--reads` reads: median, p95, max;
- one stage discovery (`scan_stages`);
- one heartbeat scan (`scan_heartbeats`: HSCAN of every hash, 100,000 fields, every 60 s);
- a day's report: 5,760 samples (24 hour files of 240) at 1,000 stages, from the files'
  bytes (parse and validate) to the document, and the files' sizes; and the day's drift
  report (`drift.live_drift`) from the same files;
- the sampler as a process (`stream-stats live-sampler`, 1 s interval) for
  `--sampler-seconds`: its peak RSS (VmHWM).
Every number is printed with the machine's load average; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import redis

from stream_stats_dagster.live.keys import RedisKeys
from stream_stats_dagster.live.reader import RedisReader, connect
from stream_stats_dagster.live.servers import RedisServer
from stream_stats_dagster.live.simulator import populate
from stream_stats_dagster.reports.live import drift, instants, report
from stream_stats_dagster.reports.live.samples import (
    HourFile,
    InfoLine,
    ReadInfo,
    SampleLine,
    StagesLine,
    build_hour,
    hour_bytes,
)

STAGES, FIELDS = 1000, 100_000


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_reads(server: RedisServer, reads: int) -> list[str]:
    keys = RedisKeys()
    reader = RedisReader(connect(server.url(), 5.0), keys)
    t = time.perf_counter()
    arns = reader.scan_stages()
    scan = time.perf_counter() - t
    times = []
    for _ in range(reads):
        t = time.perf_counter()
        reading = reader.read(arns)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    assert len(reading.viewers) == STAGES and sum(reading.heartbeats) == FIELDS
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    return [
        f"stages found: {len(arns)}; one discovery (SCAN): {scan * 1000:.1f} ms",
        f"one sample, {reads} reads: median {statistics.median(times):.1f} ms, "
        f"p95 {p95:.1f} ms, max {times[-1]:.1f} ms (target <= 50 ms)",
    ]


def bench_heartbeat_scan(server: RedisServer, scans: int = 5) -> list[str]:
    reader = RedisReader(connect(server.url(), 5.0), RedisKeys())
    arns = reader.scan_stages()
    times, trips = [], 0
    for _ in range(scans):
        t = time.perf_counter()
        scan = reader.scan_heartbeats(arns, 60_000)
        times.append((time.perf_counter() - t) * 1000)
        trips = scan.round_trips
    assert sum(scan.fields) == FIELDS
    return [
        f"one heartbeat scan, {len(arns)} hashes, {FIELDS:,} fields: median "
        f"{statistics.median(times):.0f} ms, max {max(times):.0f} ms, {trips} round trip(s) "
        f"(every 60 s, not every sample)"
    ]


def day_files(tz: str = "Asia/Seoul") -> list[bytes]:
    """24 hour files of 240 samples (15 s) at 1,000 stages, values like a busy evening."""
    return [hour_bytes(build_hour(lines, hour, tz, "ivs:prod:")) for hour, lines in day_lines()]


def day_lines(hours: int = 24) -> list[tuple[int, list]]:
    """The spool lines of `hours` hours from the KST day's start."""
    rng = np.random.default_rng(1)
    arns = [f"arn:aws:ivs:ap-northeast-1:123456789012:stage/bench{i:07d}" for i in range(STAGES)]
    start = instants.parse("2025-03-10T15:00:00Z")
    out = []
    for h in range(hours):
        hour = start + h * instants.HOUR_US
        lines = [
            StagesLine(arns=arns),
            InfoLine(
                info={
                    a: ReadInfo(
                        name=f"stage-{i}", arn=a, autoScaled=i > 0, readAt="2025-03-10T15:00:00Z"
                    )
                    for i, a in enumerate(arns)
                }
            ),
        ]
        for k in range(240):
            viewers = rng.integers(0, 120, STAGES).tolist()
            lines.append(
                SampleLine(
                    at=instants.text(hour + k * 15 * instants.US + 1234),
                    intervalMs=15000,
                    total=int(sum(viewers)),
                    publisher="live",
                    viewers=viewers,
                    heartbeats=viewers,
                    infoMissing=[],
                    freshAt=instants.text(hour + k * 15 * instants.US + 2000)
                    if k % 4 == 0
                    else None,
                    fresh=viewers if k % 4 == 0 else None,
                    unparsable=[0] * STAGES if k % 4 == 0 else None,
                )
            )
        out.append((hour, lines))
    return out


def bench_report() -> list[str]:
    files = day_files()
    t = time.perf_counter()
    hours = [HourFile.model_validate_json(b) for b in files]
    parsed = time.perf_counter() - t
    doc = report.live_viewers(dt.date(2025, 3, 11), "Asia/Seoul", hours)
    total = time.perf_counter() - t
    assert doc.coverage.samples == 5760 and len(doc.stages) == STAGES
    t = time.perf_counter()
    drifted = drift.live_drift(dt.date(2025, 3, 11), "Asia/Seoul", hours)
    drift_seconds = time.perf_counter() - t
    assert drifted.measured.samples == 5760 and drifted.measured.heartbeatScans == 1440
    size = sum(len(b) for b in files)
    return [
        f"a day's report, 5,760 samples x {STAGES} stages: {total:.2f} s "
        f"(parse and validate {parsed:.2f} s) (target <= 5 s)",
        f"the day's drift report from the parsed files: {drift_seconds:.2f} s",
        f"hour files: {len(files[0]) / 1e6:.1f} MB each, {size / 1e6:.0f} MB a day "
        f"(15 s interval; viewers and heartbeats per stage per sample)",
    ]


def bench_sampler(server: RedisServer, seconds: float, root: Path) -> list[str]:
    env = {
        **os.environ,
        "REDIS_URL": server.url(),
        "LIVE_SAMPLE_SECONDS": "1",
        "LIVE_SPOOL_DIR": str(root / "spool"),
        "STREAM_STATS_LOCAL_DIR": str(root / "data"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "stream_stats_dagster.cli", "live-sampler", "--for", str(seconds)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peak = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak = max(peak, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError):
            pass
        time.sleep(0.5)
    output = proc.stdout.read() if proc.stdout else ""
    samples = next((line for line in output.splitlines() if "stopped after" in line), output)
    spool = sum(p.stat().st_size for p in (root / "spool" / "hours").glob("*.jsonl"))
    return [
        f"sampler process, {seconds:.0f} s at 1 s: peak RSS {peak / 1024:.1f} MiB "
        f"(target <= 80 MiB); {samples.strip()}",
        f"spool: {spool / 1e6:.1f} MB for those samples",
    ]


UPLOAD_SCRIPT = """
import resource, sys
from pathlib import Path
from stream_stats_dagster.live.spool import Spool
from stream_stats_dagster.live.upload import upload_hour
from stream_stats_dagster.storage import LocalStore
root = Path(sys.argv[1])
spool = Spool(root / "spool")
(hour,) = spool.hours()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
up = upload_hour(spool, LocalStore(str(root / "data")), "bench", hour, "Asia/Seoul", "ivs:prod:")
print(base // 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, up.bytes)
"""


def bench_upload(root: Path) -> list[str]:
    """The sampler's upload of one hour (240 samples at 1,000 stages: the default 15 s),
    as a process of its own: its peak RSS, on top of what sampling needs."""
    from stream_stats_dagster.live.spool import Spool

    ((hour, lines),) = day_lines(1)
    Spool(root / "spool").append(hour, lines)
    del lines
    done = subprocess.run(
        [sys.executable, "-c", UPLOAD_SCRIPT, str(root)], capture_output=True, text=True, check=True
    )
    before, peak, size = (int(x) for x in done.stdout.split())
    return [
        f"uploading one hour of 240 samples: peak RSS {peak} MiB in a process that had "
        f"{before} MiB before building it ({size / 1e6:.1f} MB file)"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--sampler-seconds", type=float, default=60)
    args = parser.parse_args()
    print(f"bench.live: {STAGES} stages, {FIELDS:,} heartbeat fields; load average {load()}")
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp) / "redis") as server:
        admin = redis.Redis.from_url(server.url(sampler=False))
        populate(admin, RedisKeys(), STAGES, FIELDS)
        for line in bench_reads(server, args.reads):
            print(f"  {line}")
        for line in bench_heartbeat_scan(server):
            print(f"  {line}")
        for line in bench_report():
            print(f"  {line}")
        for line in bench_sampler(server, args.sampler_seconds, Path(tmp)):
            print(f"  {line}")
        for line in bench_upload(Path(tmp) / "upload"):
            print(f"  {line}")
    print(f"bench.live: done; load average {load()}")


if __name__ == "__main__":
    main()
