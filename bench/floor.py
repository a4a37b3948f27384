"""The floor: `stream-stats collect` without Dagster, doing the same work the same way.

It mirrors `runner.Runner.collect` and the asset bodies in `defs/` step by step, with the
project's own code for every piece of real work:

- the same plan: lead days a 7-day window needs (found with the same HEADs), then runs of
  at most `MAX_DAYS_PER_RUN` consecutive days, then the complete weeks `WEEKS_PER_RUN` at a
  time;
- the same requests: one `CloudflareClient` per run, `fetch_days` over the run's days,
  `MetadataCache.resolve` for their top videos (so the same GraphQL documents, REST calls
  and concurrency);
- the same steps in the order Dagster's in-process executor runs them (raw_extract,
  countries, creators, rolling_countries, rolling_creators, videos_with_posts, summary,
  rolling_summary; weekly_creators, weekly_summary), one method each so that a step's
  documents are garbage once written, each reading its inputs back from
  storage with the IO manager's `read_documents` over the partitions its partition mapping
  names, building documents with the `reports` functions, running the same in-step checks,
  and writing through `write_documents` (+ `advance_index` for the terminal assets);
- the same operation-log records in LOG_BUCKET (what the success hooks write).

What it leaves out is what only Dagster needs: the instance and its event log, run and
step orchestration, asset metadata and previews, hooks' run-stats queries.

It never imports Dagster: see `bench/nodagster.py` for how the Dagster-mixed project modules
are loaded, and `assert_no_dagster()` in `prepare`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import uuid
from types import SimpleNamespace
from typing import Any

from bench import nodagster as nd
from bench.common import count_client, count_storage, disable_pacing, run_case

WEEK = dt.timedelta(days=6)
DAY = dt.timedelta(days=1)


def prepare(spec: dict[str, Any]) -> SimpleNamespace:
    p = SimpleNamespace()
    p.config = nd.import_module("stream_stats_dagster.config")
    p.dates = nd.import_module("stream_stats_dagster.dates")
    p.client = nd.import_module("stream_stats_dagster.cloudflare.client")
    p.pacing = nd.import_module("stream_stats_dagster.cloudflare.pacing")
    p.storage = nd.import_module("stream_stats_dagster.storage")
    p.local = nd.import_module("stream_stats_dagster.storage.local")
    p.files = nd.import_module("stream_stats_dagster.files")
    p.index = nd.import_module("stream_stats_dagster.index")
    p.oplog = nd.import_module("stream_stats_dagster.oplog")
    p.cache = nd.import_module("stream_stats_dagster.metadata_cache")
    p.models = nd.import_module("stream_stats_dagster.reports.models")
    p.daily = nd.import_module("stream_stats_dagster.reports.daily")
    p.windows = nd.import_module("stream_stats_dagster.reports.windows")
    p.gc_tuning = nd.import_module("stream_stats_dagster.gc_tuning")  # as the CLI's runs
    p.report_checks = nd.import_module("stream_stats_dagster.reports.checks")
    p.rules = nd.import_module("stream_stats_dagster.reports.rules")
    p.io = nd.extract(
        "stream_stats_dagster.storage.io_manager", ["write_documents", "read_documents"]
    )
    p.checks = nd.extract(
        "stream_stats_dagster.defs.checks",
        ["document_checks", "WINDOW_CHECKS", "WINDOW_ADDS_UP"],
    )
    p.daily_checks = nd.constants(
        "stream_stats_dagster.defs.daily.assets",
        ["CREATORS_CHECKS", "COUNTRIES_CHECKS", "VIDEOS_CHECKS", "SUMMARY_CHECKS", "FACTS_ADD_UP"],
    )
    p.max_days = _constant("MAX_DAYS_PER_RUN", "partitions", "runner")
    p.weeks_per_run = _constant("WEEKS_PER_RUN", "runner", "defs.weekly.assets")
    stores: list[type] = [p.local.LocalStore]
    if os.environ.get("R2_ENDPOINT_URL"):
        p.r2 = nd.import_module("stream_stats_dagster.storage.r2")  # boto3, as the graph's R2 path
        import boto3  # noqa: F401  (the graph path imports it before its timer too)

        stores.append(p.r2.R2Store)
    nd.assert_no_dagster()
    count_storage(*stores)
    count_client(p.client.ClientStats)
    if not spec.get("pacing"):
        disable_pacing(p.pacing.Pacer)
    p.argv = spec["argv"]
    return p


def _constant(name: str, *modules: str):
    """A module-level constant of the first of `modules` that defines it as a literal."""
    for module in modules:
        try:
            return getattr(nd.constants(f"stream_stats_dagster.{module}", [name]), name)
        except ImportError:
            continue
    raise ImportError(f"{name} not found in {modules}; update bench/floor.py")


class CheckFailed(Exception):
    pass


class FloorRunner:
    # The order Dagster's in-process executor ran the steps of daily_stats_job in (read
    # from a run's STEP_START events).
    STEP_ORDER = (
        ("raw", "raw_extract"),
        ("daily", "countries"),
        ("daily", "creators"),
        ("rolling", "rolling_countries"),
        ("rolling", "rolling_creators"),
        ("daily", "videos_with_posts"),
        ("daily", "summary"),
        ("rolling", "rolling_summary"),
    )

    def __init__(self, p: SimpleNamespace, settings: Any, store: Any) -> None:
        self.p, self.settings, self.store = p, settings, store
        self.bucket = settings.stats_bucket
        self.start = settings.start_date
        self.runs: list[dict[str, Any]] = []
        self.api = settings.api_token.get_secret_value() if settings.api_token else ""

    # -- planning (runner.Runner) ------------------------------------------------------
    def _days(self, first: dt.date, last: dt.date) -> list[dt.date]:
        if last < self.start:
            return []
        return self.p.dates.days_between(max(first, self.start), last)

    def _present(self, day: dt.date, assets: list[str]) -> bool:
        files = self.p.files.ASSET_FILES
        return all(
            self.store.head(self.bucket, files[a].key(day.isoformat())) is not None for a in assets
        )

    def _chunks(self, days: list[dt.date]) -> list[list[dt.date]]:
        out: list[list[dt.date]] = []
        for day in sorted(days):
            if out and len(out[-1]) < self.p.max_days and out[-1][-1] + DAY == day:
                out[-1].append(day)
            else:
                out.append([day])
        return out

    def collect(self, first: dt.date, last: dt.date) -> None:
        files = self.p.files
        lead_raw = self._days(first - 2 * WEEK, first - DAY)
        lead_daily = self._days(first - WEEK, first - DAY)
        missing_raw = [d for d in lead_raw if not self._present(d, files.RAW_ASSETS)]
        missing_daily = [d for d in lead_daily if not self._present(d, files.DAILY_ASSETS)]
        for chunk in self._chunks(missing_raw):
            self.daily_run(chunk, raw=True, daily=False, rolling=False)
        for chunk in self._chunks(missing_daily):
            self.daily_run(chunk, raw=False, daily=True, rolling=False)
        for chunk in self._chunks(self._days(first, last)):
            self.daily_run(chunk, raw=True, daily=True, rolling=True)
        self.weekly(first, last)

    def weekly(self, first: dt.date, last: dt.date) -> None:
        monday = self.p.dates.monday_of(first)
        if monday < first:
            monday += dt.timedelta(days=7)
        weeks = []
        while monday + WEEK <= last:
            if monday + WEEK >= self.start:
                weeks.append(monday)
            monday += dt.timedelta(days=7)
        for i in range(0, len(weeks), self.p.weeks_per_run):
            self.weekly_run(weeks[i : i + self.p.weeks_per_run])

    # -- storage (the IO manager's functions) ------------------------------------------
    def read(self, asset: str, keys: list[str]) -> dict[str, Any]:
        spec = self.p.files.ASSET_FILES[asset]
        return self.p.io.read_documents(self.store, self.bucket, spec, keys)

    def write(self, asset: str, docs: dict[str, Any]) -> None:
        spec = self.p.files.ASSET_FILES[asset]
        self.p.io.write_documents(self.store, self.bucket, spec, docs)
        kind = self.p.files.INDEXED_ASSETS.get(asset)
        if kind:
            self.p.index.advance_index(self.store, self.bucket, kind, max(docs))

    def check(self, asset: str, docs: dict[str, Any], names: list[str], extra=None) -> None:
        per_doc = self.p.checks.document_checks(docs, names)
        for key, results in per_doc.items():
            results = {**results, **((extra or {}).get(key, {}))}
            failed = [n for n, r in results.items() if not r.passed]
            if failed:
                raise CheckFailed(f"{asset} {key}: {failed}")

    def oplog(self, operation: str, run: dict[str, Any], details: dict[str, dict]) -> None:
        o = self.p.oplog
        duration = round(time.time() - run["started"], 3)
        for key in run["keys"]:
            record = o.OperationRecord(
                timestamp=o.utc_timestamp(),
                operation=operation,
                date=key,
                success=True,
                duration=duration,
                details=o.OperationDetails(**details.get(key, {})),
                error=None,
                runId=run["id"],
                source=self.settings.source,
            )
            o.write_record(self.store, self.settings.log_bucket, record)

    def _by_date(self, docs: dict[str, Any]) -> dict[dt.date, Any]:
        return {dt.date.fromisoformat(k): v for k, v in docs.items()}

    def _window_keys(self, days: list[dt.date]) -> list[str]:
        """The last_7_days mapping of a run's days: d-6..d of each, before start dropped."""
        return [d.isoformat() for d in self._days(days[0] - WEEK, days[-1])]

    # -- the daily job (raw + daily + rolling) -----------------------------------------
    def daily_run(self, days: list[dt.date], *, raw: bool, daily: bool, rolling: bool) -> None:
        """One `daily_stats_job` run. One method per step, so that (as in Dagster) a step's
        documents are garbage once the step has written them."""
        run = {
            "id": str(uuid.uuid4()),
            "started": time.time(),
            "keys": [d.isoformat() for d in days],
        }
        t0 = time.perf_counter()
        selected = {"raw": raw, "daily": daily, "rolling": rolling}
        with self.p.gc_tuning.fewer_collections():
            for group, step in self.STEP_ORDER:
                if selected[group]:
                    getattr(self, step)(run, days)
        self.runs.append({"keys": len(days), "seconds": round(time.perf_counter() - t0, 3)})

    def raw_extract(self, run, days) -> None:
        p, s, m = self.p, self.settings, self.p.models
        with p.client.CloudflareClient(
            s.api_base_url, s.account_id or "", self.api, timezone=s.timezone
        ) as client:
            facts = client.fetch_days(days, top_videos=s.top_videos)
            uids = [v.uid for f in facts.values() for v in f.videos]
            cache = p.cache.MetadataCache(self.store, self.bucket)
            metadata, _ = cache.resolve(client, uids)
        top = s.top_videos
        keyed = {d.isoformat(): facts[d.isoformat()] for d in days}
        outputs = {
            "raw_creator_minutes": {
                k: m.RawCreatorMinutes(date=k, rows=f.creators) for k, f in keyed.items()
            },
            "raw_country_minutes": {
                k: m.RawCountryMinutes(date=k, rows=f.countries) for k, f in keyed.items()
            },
            "raw_video_minutes": {
                k: m.RawVideoMinutes(date=k, limit=top, rows=f.videos) for k, f in keyed.items()
            },
            "raw_hourly_minutes": {
                k: m.RawHourlyMinutes(date=k, timezone=s.timezone, rows=f.hours)
                for k, f in keyed.items()
            },
            "raw_video_metadata": {
                k: m.RawVideoMetadata(date=k, videos=[metadata[v.uid] for v in f.videos])
                for k, f in keyed.items()
            },
        }
        for name in p.files.RAW_ASSETS:
            self.write(name, outputs[name])

    # daily steps ------------------------------------------------------------------------
    def countries(self, run, days) -> None:
        raw = self.read("raw_country_minutes", run["keys"])
        docs = {
            d.isoformat(): self.p.daily.daily_countries(d, raw[d.isoformat()].rows) for d in days
        }
        self.write("countries", docs)
        self.check("countries", docs, self.p.daily_checks.COUNTRIES_CHECKS)

    def creators(self, run, days) -> None:
        raw = self.read("raw_creator_minutes", self._window_keys(days))
        rows = {d: doc.rows for d, doc in self._by_date(raw).items()}
        report, start = self.p.daily, self.start
        docs = {d.isoformat(): report.daily_creators(d, rows, start_date=start) for d in days}
        self.write("creators", docs)
        self.check("creators", docs, self.p.daily_checks.CREATORS_CHECKS)

    def videos_with_posts(self, run, days) -> None:
        raw_videos = self.read("raw_video_minutes", run["keys"])
        raw_meta = self.read("raw_video_metadata", run["keys"])
        docs = {}
        for d in days:
            k = d.isoformat()
            docs[k] = self.p.daily.videos_with_posts(
                d, raw_videos[k].rows, {v.uid: v for v in raw_meta[k].videos}
            )
        self.write("videos_with_posts", docs)
        self.check("videos_with_posts", docs, self.p.daily_checks.VIDEOS_CHECKS)

    def summary(self, run, days) -> None:
        p, c, keys = self.p, self.p.daily_checks, run["keys"]
        # the inputs in the asset's parameter order
        raw_hourly = self.read("raw_hourly_minutes", self._window_keys(days))
        raw_creator = self.read("raw_creator_minutes", keys)
        raw_country = self.read("raw_country_minutes", keys)
        raw_video = self.read("raw_video_minutes", keys)
        hourly = {d: doc.rows for d, doc in self._by_date(raw_hourly).items()}
        null_key = p.rules.null_key
        docs, details, extra = {}, {}, {}
        for d in days:
            k = d.isoformat()
            creator_rows = raw_creator[k].rows
            country_rows = raw_country[k].rows
            video_rows = raw_video[k].rows
            doc = p.daily.daily_summary(
                d,
                hourly,
                creators=creator_rows,
                countries=country_rows,
                videos=video_rows,
                start_date=self.start,
            )
            docs[k] = doc
            details[k] = {
                "creatorsCount": len({null_key(r.creator) for r in creator_rows}),
                "countriesCount": len({null_key(r.clientCountryName) for r in country_rows}),
                "videosCount": len(video_rows),
                "totalMinutesViewed": doc.totalMinutesViewed,
            }
            extra[k] = {
                c.FACTS_ADD_UP: p.report_checks.daily_parts_add_up(
                    doc,
                    {"date": k, "creators": [r.model_dump() for r in creator_rows]},
                    {"date": k, "countries": [r.model_dump() for r in country_rows]},
                    {"date": k, "videos": [r.model_dump() for r in video_rows]},
                )
            }
        self.write("summary", docs)
        self.check("summary", docs, c.SUMMARY_CHECKS, extra)
        self.oplog(p.oplog.COLLECT_DAILY, run, details)

    # rolling steps ----------------------------------------------------------------------
    def rolling_countries(self, run, days) -> None:
        daily = self._by_date(self.read("raw_country_minutes", self._window_keys(days)))
        w, start = self.p.windows, self.start
        docs = {d.isoformat(): w.rolling_countries(d, daily, start_date=start) for d in days}
        self.write("rolling_countries", docs)
        self.check("rolling_countries", docs, self.p.checks.WINDOW_CHECKS)

    def rolling_creators(self, run, days) -> None:
        daily = self._by_date(self.read("raw_creator_minutes", self._window_keys(days)))
        w, start = self.p.windows, self.start
        docs = {d.isoformat(): w.rolling_creators(d, daily, start_date=start) for d in days}
        self.write("rolling_creators", docs)
        self.check("rolling_creators", docs, self.p.checks.WINDOW_CHECKS)

    def rolling_summary(self, run, days) -> None:
        p, keys, week_keys = self.p, run["keys"], self._window_keys(days)
        rolling_creators = self.read("rolling_creators", keys)
        rolling_countries = self.read("rolling_countries", keys)
        summaries = self._by_date(self.read("summary", week_keys))
        videos = self._by_date(self.read("videos_with_posts", week_keys))
        docs, details, extra = {}, {}, {}
        for d in days:
            k = d.isoformat()
            creators_doc, countries_doc = rolling_creators[k], rolling_countries[k]
            docs[k] = p.windows.rolling_summary(
                d,
                summaries,
                videos,
                creators=creators_doc,
                countries=countries_doc,
                start_date=self.start,
            )
            extra[k] = {
                p.checks.WINDOW_ADDS_UP: p.report_checks.window_parts_add_up(
                    docs[k], creators_doc, countries_doc
                )
            }
            details[k] = {
                "creatorsCount": len(creators_doc.creators),
                "countriesCount": len(countries_doc.countries),
                "totalMinutesViewed": docs[k].totalMinutesViewed,
            }
        self.write("rolling_summary", docs)
        self.check("rolling_summary", docs, p.checks.WINDOW_CHECKS, extra)
        self.oplog(p.oplog.UPDATE_ROLLING, run, details)

    # -- the weekly job ----------------------------------------------------------------
    def weekly_run(self, mondays: list[dt.date]) -> None:
        """One `weekly_stats_job` run (up to WEEKS_PER_RUN weeks)."""
        run = {
            "id": str(uuid.uuid4()),
            "started": time.time(),
            "keys": [m.isoformat() for m in mondays],
        }
        t0 = time.perf_counter()
        day_keys = [d.isoformat() for d in self._days(mondays[0], mondays[-1] + WEEK)]
        with self.p.gc_tuning.fewer_collections():
            self.weekly_creators(run, mondays, day_keys)
            self.weekly_summary(run, mondays, day_keys)
        self.runs.append({"keys": len(mondays), "seconds": round(time.perf_counter() - t0, 3)})

    def weekly_creators(self, run, mondays, day_keys) -> None:
        daily = self._by_date(self.read("raw_creator_minutes", day_keys))
        w, start = self.p.windows, self.start
        docs = {m.isoformat(): w.weekly_creators(m, daily, start_date=start) for m in mondays}
        self.write("weekly_creators", docs)
        self.check("weekly_creators", docs, self.p.checks.WINDOW_CHECKS)

    def weekly_summary(self, run, mondays, day_keys) -> None:
        p = self.p
        weekly_creators = self.read("weekly_creators", run["keys"])
        summaries = self._by_date(self.read("summary", day_keys))
        videos = self._by_date(self.read("videos_with_posts", day_keys))
        countries = self._by_date(self.read("raw_country_minutes", day_keys))
        docs, details, extra = {}, {}, {}
        for m in mondays:
            k = m.isoformat()
            creators_doc = weekly_creators[k]
            docs[k] = p.windows.weekly_summary(
                m, summaries, videos, countries, creators=creators_doc, start_date=self.start
            )
            extra[k] = {
                p.checks.WINDOW_ADDS_UP: p.report_checks.window_parts_add_up(docs[k], creators_doc)
            }
            details[k] = {
                "creatorsCount": len(creators_doc.creators),
                "totalMinutesViewed": docs[k].totalMinutesViewed,
            }
        self.write("weekly_summary", docs)
        self.check("weekly_summary", docs, p.checks.WINDOW_CHECKS, extra)
        self.oplog(p.oplog.COLLECT_WEEKLY, run, details)


def _range(argv: list[str]) -> tuple[dt.date, dt.date]:
    parser = argparse.ArgumentParser(prog="bench.floor")
    parser.add_argument("command", choices=["collect"])
    parser.add_argument("--date")
    parser.add_argument("--from", dest="start")
    parser.add_argument("--to", dest="end")
    args = parser.parse_args(argv)
    if args.date:
        day = dt.date.fromisoformat(args.date)
        return day, day
    return dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)


def work(p: SimpleNamespace) -> dict[str, Any]:
    first, last = _range(p.argv)
    settings = p.config.load_settings()
    store = p.storage.make_store(settings)
    runner = FloorRunner(p, settings, store)
    runner.collect(first, last)
    return {"rc": 0, "runs": runner.runs}


if __name__ == "__main__":
    import json

    run_case(json.loads(sys.argv[1]), prepare, work)
