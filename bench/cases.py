"""The Dagster path: `stream-stats collect` in-process, exactly as a user runs it.

`cli.main(["collect", ...])` plans the runs and executes `daily_stats_job` (and
`weekly_stats_job`) in-process against the Dagster instance in `DAGSTER_HOME` (a fresh one
per case), with the real `CloudflareClient` over loopback HTTP to the simulator and the
configured storage. Everything `collect` imports lazily (the runs, the definitions,
Dagster, and on R2 boto3/dagster_aws) is imported before the timer starts, so `in_run_s`
is the collection itself; the whole process time is measured by `bench.run`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
from typing import Any

from bench.common import count_client, count_storage, disable_pacing, run_case

_RUN_LINE = re.compile(r"^\s+(?P<label>.+): (?P<status>ok|FAILED.*) in (?P<s>[\d.]+) s")


def prepare(spec: dict[str, Any]) -> Any:
    import dagster  # noqa: F401

    from stream_stats_dagster import cli, definitions, runs  # noqa: F401
    from stream_stats_dagster.cloudflare.client import ClientStats
    from stream_stats_dagster.cloudflare.pacing import Pacer
    from stream_stats_dagster.storage.local import LocalStore

    stores: list[type] = [LocalStore]
    if os.environ.get("R2_ENDPOINT_URL"):
        import boto3  # noqa: F401

        from stream_stats_dagster.storage import r2, r2_resource  # noqa: F401

        stores.append(r2.R2Store)
    count_storage(*stores)
    count_client(ClientStats)
    if not spec.get("pacing"):
        disable_pacing(Pacer)
    return (cli, spec["argv"])


def work(context: Any) -> dict[str, Any]:
    cli, argv = context
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(argv)
    lines = out.getvalue().splitlines()
    runs = [
        {"label": m["label"], "ok": m["status"] == "ok", "seconds": float(m["s"])}
        for m in map(_RUN_LINE.match, lines)
        if m
    ]
    return {"rc": rc, "runs": runs, "output": lines[-30:]}


if __name__ == "__main__":
    run_case(json.loads(sys.argv[1]), prepare, work)
