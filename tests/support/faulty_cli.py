"""`stream-stats` as a real process that stops at a chosen write, so a test can kill it there.

    python -m tests.support.faulty_cli collect --date 2025-03-02

With `STREAM_STATS_TEST_PAUSE_AT=<substring>` the first storage write (local or R2) of a key holding
that substring first creates `STREAM_STATS_TEST_PAUSE_FILE` (the key inside) and then sleeps
for ever instead of writing: the process is then inside that step, before that write.
`STREAM_STATS_TEST_BARRIER=<dir>:<n>` holds the process just before it takes the instance
lock until `n` processes wait there (a race made certain, not left to luck).
`STREAM_STATS_TEST_CLIENT_LIMITS` (JSON) gives the Cloudflare client other default limits
(a 1 s deadline instead of 30 s), so that a bounds test takes seconds, not minutes.
Everything else is the real CLI.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from stream_stats_dagster import cli, instance
from stream_stats_dagster.cloudflare.client import ClientLimits
from stream_stats_dagster.defs import cloudflare_resource as resource
from stream_stats_dagster.storage.local import LocalStore


def _pause_at(substring: str, marker: Path) -> None:
    from stream_stats_dagster.storage.r2 import R2Store

    for store in (LocalStore, R2Store):
        original = store.put

        def put(self, bucket, key, body, _original=original, **kwargs):
            if substring in key:
                marker.write_text(key)
                while True:
                    time.sleep(60)
            return _original(self, bucket, key, body, **kwargs)

        store.put = put  # type: ignore[method-assign]


def _barrier(spec: str) -> None:
    folder, _, count = spec.rpartition(":")
    original = instance.home_lock
    waited = []

    @contextlib.contextmanager
    def home_lock(home):
        if not waited:  # the first lock of the process: the instance's creation
            waited.append(True)
            Path(folder, str(os.getpid())).touch()
            deadline = time.monotonic() + 60
            while len(list(Path(folder).iterdir())) < int(count) and time.monotonic() < deadline:
                time.sleep(0.01)
        with original(home):
            yield

    instance.home_lock = home_lock  # type: ignore[assignment]


def _client_limits(overrides: dict) -> None:
    fields = [(k, type(v), dataclasses.field(default=v)) for k, v in overrides.items()]
    limits = dataclasses.make_dataclass("Limits", fields, bases=(ClientLimits,), frozen=True)
    resource.ClientLimits = limits  # type: ignore[misc]


if __name__ == "__main__":
    if os.environ.get("STREAM_STATS_TEST_BARRIER"):
        _barrier(os.environ["STREAM_STATS_TEST_BARRIER"])
    if os.environ.get("STREAM_STATS_TEST_CLIENT_LIMITS"):
        _client_limits(json.loads(os.environ["STREAM_STATS_TEST_CLIENT_LIMITS"]))
    if os.environ.get("STREAM_STATS_TEST_PAUSE_AT"):
        _pause_at(
            os.environ["STREAM_STATS_TEST_PAUSE_AT"],
            Path(os.environ["STREAM_STATS_TEST_PAUSE_FILE"]),
        )
    sys.exit(cli.main(sys.argv[1:]))
