"""`python -m bench.golden`: the default-scale golden digests (tests/golden/default-scale.sha256).

Collects 2025-03-01..2025-03-10 with `stream-stats collect` from the simulator at its
DEFAULT scale (`SimulatorConfig()`: ~100,000 videos, ~11,000 creators a day, no latency)
over loopback HTTP, start date 2025-03-01 and the default top 1,000 videos, into a
temporary directory, and compares the SHA-256 of every file the digest list names: one
`OK` / `DIFF` / `MISSING` line each, exit status 1 on any difference. `--path floor` checks
`bench/floor.py` the same way (`--path both`: one after the other, on the same simulator).
The digests were taken from the object-per-row core before the columnar rewrite; the
small-scale files themselves are compared by tests/golden/test_golden.py.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.golden.regenerate import FIRST, LAST, collect_env

REPO = Path(__file__).resolve().parent.parent
DIGESTS = REPO / "tests" / "golden" / "default-scale.sha256"
BUCKET = "points-system-bucket"
COMMANDS = {
    "product": [sys.executable, "-m", "stream_stats_dagster.cli", "collect"],
    "floor": [sys.executable, "-m", "bench.floor", "collect"],
}


def digests() -> dict[str, str]:
    lines = DIGESTS.read_text().splitlines()
    return {key: digest for digest, key in (line.split() for line in lines if line.strip())}


def check(path: str, base_url: str, work: Path) -> int:
    """Collect with `path` into `work`; print one line per file; the number of differences."""
    env = collect_env(
        base_url, work / "data", DAGSTER_HOME=str(work / "dagster-home"), PYTHONPATH=str(REPO)
    )
    t0 = time.perf_counter()
    done = subprocess.run(
        [*COMMANDS[path], "--from", FIRST, "--to", LAST],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    print(f"{path}: collect {FIRST}..{LAST} exit {done.returncode} in "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    if done.returncode != 0:
        print((done.stdout + done.stderr)[-3000:])
        return 1
    base = work / "data" / BUCKET / "stream-stats"
    bad = 0
    for key, want in sorted(digests().items()):
        file = base / key
        if not file.exists():
            print(f"  MISSING {key}")
            bad += 1
            continue
        got = hashlib.sha256(file.read_bytes()).hexdigest()
        print(f"  {'OK  ' if got == want else 'DIFF'} {key}")
        bad += got != want
    print(f"{path}: {len(digests()) - bad} of {len(digests())} files match the digests")
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.golden", description=__doc__)
    parser.add_argument("--path", choices=["product", "floor", "both"], default="product")
    args = parser.parse_args(argv)
    from stream_stats_dagster.simulator import Simulator, SimulatorConfig

    sim = Simulator(SimulatorConfig())
    server = sim.serve(host="127.0.0.1", port=0)
    bad = 0
    try:
        with tempfile.TemporaryDirectory(prefix="stream-stats-golden-") as tmp:
            for path in ("product", "floor") if args.path == "both" else (args.path,):
                bad += check(path, server.base_url, Path(tmp) / path)
    finally:
        server.close()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
