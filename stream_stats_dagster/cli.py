"""`stream-stats`: collect, rebuild, check and serve the simulator (contract §8)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from zoneinfo import ZoneInfo

from . import cli_live
from .commands import Commands, fail
from .config import ConfigError, Settings, load_settings
from .dates import LEAD_DAYS, BadDateError, parse_day
from .progress import show_waits, terminal


def _range(args: argparse.Namespace, settings: Settings) -> tuple[dt.date, dt.date]:
    """--date D, or --from A --to B, or (no dates) the last 7 days: yesterday-6..yesterday."""
    if args.date and (args.start or args.end):
        raise BadDateError("give either --date or --from/--to, not both")
    if args.date:
        day = parse_day(args.date)
        return day, day
    if bool(args.start) != bool(args.end):
        raise BadDateError("--from and --to go together")
    if args.start:
        first, last = parse_day(args.start), parse_day(args.end)
        if last < first:
            raise BadDateError(f"--from {first} is after --to {last}")
        return first, last
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    return today - dt.timedelta(days=7), today - dt.timedelta(days=1)


def _add_range_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", help="one report day, YYYY-MM-DD")
    parser.add_argument("--from", dest="start", help="first report day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", help="last report day, YYYY-MM-DD")
    parser.add_argument("-v", "--verbose", action="store_true", help="show Dagster's run logs")


def _materialize(args: argparse.Namespace, mode: str) -> int:
    from .instance import BrokenInstance, dagster_home, database_error, open_instance

    try:
        settings = load_settings()
        first, last = _range(args, settings)
    except (ConfigError, BadDateError) as exc:
        return fail(str(exc), 2)
    if last < settings.start_date:
        return fail(f"{last} is before STREAM_STATS_START_DATE {settings.start_date}", 2)
    # contract §2: a day that has not ended in the report time zone is not a report day yet.
    last_complete = dt.datetime.now(ZoneInfo(settings.timezone)).date() - dt.timedelta(days=1)
    if last > last_complete:
        return fail(
            f"{last} has not ended yet in {settings.timezone}: "
            f"the last complete day is {last_complete}",
            2,
        )
    home = dagster_home()
    say = terminal.say
    say(f"stream-stats {mode} {first}..{last}")
    say(f"  {settings.describe()}")
    say(f"  Dagster instance: {home}")
    show_waits()  # long waits (Cloudflare budgets, retries, silent servers) say so here
    if not args.verbose:  # libraries' own warnings on the root logger (a database retry):
        logging.getLogger().addHandler(logging.NullHandler())  # the outcome says what failed
    try:
        instance = open_instance(home)
    except BrokenInstance as exc:
        return fail(str(exc))
    try:
        with instance:
            commands = Commands(instance, settings, args.verbose, args)
            outcomes = (
                commands.collect(first, last)
                if mode == "collect"
                else commands.rebuild(first, last)
            )
            if all(o.success for o in outcomes) and getattr(args, "with_costs", False):
                outcomes += commands.costs(first, last)
    except Exception as exc:
        line = database_error(exc)
        if line is None:
            raise
        return fail(line)
    failed = next((o for o in outcomes if not o.success), None)
    if failed is not None:
        return fail(f"{failed.label}: {failed.error}")
    say(f"done: {len(outcomes)} runs ok; files in {commands.store.describe()}")
    with_costs = getattr(args, "with_costs", False)
    for line in written_files(settings, max(first, settings.start_date), last, mode, with_costs):
        say(f"  {line}")
    return 0


def written_files(
    settings: Settings, first: dt.date, last: dt.date, mode: str, with_costs: bool = False
) -> list[str]:
    """Which files a successful collect or rebuild of first..last wrote, one line a kind."""
    from . import keys
    from .runs import complete_weeks

    def span(key_of, a: dt.date, b: dt.date, name: str) -> str:
        left, right = key_of(a, name), key_of(b, name)
        if a == b:
            return left
        same_folder = left.rsplit("/", 1)[0] == right.rsplit("/", 1)[0]
        return f"{left} .. {right.rsplit('/', 1)[-1] if same_folder else right}"

    stats, logs, private = settings.stats_bucket, settings.log_bucket, settings.private_bucket
    lines = []
    if mode == "collect":  # with the six lead days the first day's trends read
        lead = max(first - dt.timedelta(days=LEAD_DAYS), settings.start_date)
        lines.append(f"raw:     {private}/{span(keys.raw_key, lead, last, '*')}")
    lines.append(f"daily:   {stats}/{span(keys.daily_key, first, last, '*')}")
    days = f"{first:%Y-%m}/{first}.json" if first == last else f"{first}..{last}"
    lines.append(
        f"creators: {stats}/{keys.PREFIX}/creators/<creator key>/days/{days}, one a creator "
        "(stream-stats creator-link CREATOR --date D signs links to them)"
    )
    history = span(keys.rolling_history_key, first, last, "*")
    lines.append(f"rolling: {stats}/{history}, {keys.rolling_pointer_key('*')}")
    weeks = complete_weeks(first, last)
    if weeks:
        lines.append(f"weekly:  {stats}/{span(keys.weekly_key, weeks[0], weeks[-1], '*')}")
    else:
        lines.append(f"weekly:  none (no complete Monday..Sunday week in {first}..{last})")
    lines.append(f"index:   {stats}/{keys.INDEX_KEY}")
    if with_costs:
        lines.append(f"costs:   {private}/{span(keys.costs_key, first, last, '*')}")
    lines.append(f"op logs: {logs}/{keys.PREFIX}/YYYY-MM/YYYY-MM-DD/<operation>-<run id>.json")
    return lines


def _restore_raw(args: argparse.Namespace) -> int:
    """Undo the last replacement of a day's raw extracts (kept as revisions when replaced)."""
    from .defs.storage_resource import StorageResource
    from .documents import restore_revision
    from .files import ASSET_FILES, COST_FILES, RAW_ASSETS

    try:
        settings = load_settings()
        day = parse_day(args.date)
    except (ConfigError, BadDateError) as exc:
        return fail(str(exc), 2)
    storage: StorageResource = _storage(settings)
    store, bucket = storage.get_store(), storage.private
    specs = {name: ASSET_FILES[name] for name in RAW_ASSETS}
    specs["raw_uid_minutes"] = COST_FILES["raw_uid_minutes"]
    restored = {}
    for name, spec in specs.items():
        revision = restore_revision(store, bucket, spec, day)
        if revision is not None:
            restored[name] = revision
    if not restored:
        return fail(f"no kept revision of the raw extracts of {day} in {bucket}")
    for name, revision in restored.items():
        print(f"  {specs[name].key(day.isoformat())} <- {revision}")
    yesterday = dt.datetime.now(ZoneInfo(settings.timezone)).date() - dt.timedelta(days=1)
    last = max(day, min(day + dt.timedelta(days=LEAD_DAYS), yesterday))
    print(
        f"restored {len(restored)} raw file(s) of {day}; the files that read them are rebuilt "
        f"by: stream-stats rebuild --from {day} --to {last}"
    )
    return 0


def _storage(settings: Settings):
    """The storage resource of `settings`, usable outside a run."""
    from .defs.resources import storage_resource

    return storage_resource(settings).process_config_and_initialize()


def _migrate_private() -> int:
    """Move an existing install's private files into PRIVATE_BUCKET (copy, verify, delete)."""
    from .migration import migrate_private
    from .storage.base import StorageError

    try:
        settings = load_settings()
    except ConfigError as exc:
        return fail(str(exc), 2)
    if settings.private_bucket == settings.stats_bucket:
        return fail(
            "PRIVATE_BUCKET is not set (or is STATS_BUCKET): set it to the bucket the private "
            "files move to, then run migrate-private",
            2,
        )
    store = _storage(settings).get_store()
    stats, private = settings.stats_bucket, settings.private_bucket
    terminal.say(f"stream-stats migrate-private: {stats} -> {private} ({store.describe()})")
    try:
        moved = migrate_private(store, stats, private, echo=terminal.say)
    except StorageError as exc:
        return fail(str(exc))
    terminal.say(
        f"done: {moved.copied} file(s) moved ({moved.bytes:,} bytes), {moved.present} "
        f"already there, {moved.kept_newer} older than the private bucket's (set aside)"
    )
    return 0


def _creator_link(args: argparse.Namespace) -> int:
    """The signed links of `access.creator_links`, one per line: `day|week <url>`."""
    from .access import creator_links

    try:
        links = creator_links(args.creator, args.date, args.expires)
    except (ConfigError, BadDateError) as exc:
        return fail(str(exc), 2)
    for link in links:
        print(f"{link.file}\t{link.url}")
    print(f"valid until {links[0].expires_at.isoformat()} ({args.expires} s)", file=sys.stderr)
    return 0


def _simulator(args: argparse.Namespace) -> int:
    from .simulator import SimulatorConfig, run_server

    run_server(args.port, host=args.host, config=SimulatorConfig(latency_seconds=args.latency))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stream-stats", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    collect = sub.add_parser("collect", help="materialize raw, daily, rolling and weekly files")
    _add_range_args(collect)
    collect.add_argument(
        "--with-costs",
        action="store_true",
        help="also the cost and cold-video reports of those days (stream_costs_job)",
    )
    collect.add_argument(
        "--accept-shrink",
        action="store_true",
        help="replace stored days even where Cloudflare now answers fewer minutes or rows "
        "(each replaced raw file stays undoable with restore-raw)",
    )
    sub.add_parser(
        "migrate-private",
        help="move raw facts, the catalogue and costs from STATS_BUCKET to PRIVATE_BUCKET",
    )
    restore = sub.add_parser(
        "restore-raw", help="put the previous version of a day's raw extracts back in place"
    )
    restore.add_argument("--date", required=True, help="the report day, YYYY-MM-DD")
    rebuild = sub.add_parser(
        "rebuild", help="re-derive every derived file from stored raw extracts"
    )
    _add_range_args(rebuild)
    sim = sub.add_parser("simulator", help="serve the built-in Cloudflare simulator over HTTP")
    sim.add_argument("--port", type=int, required=True)
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--latency", type=float, default=0.0, help="seconds added to every API call")
    sub.add_parser("check", help="preflight: Cloudflare token and bucket access")
    link = sub.add_parser(
        "creator-link",
        help="print signed GET links to one creator's own files of a day (day and week)",
    )
    link.add_argument("creator", help="the creator id, exactly as in the statistics")
    link.add_argument("--date", required=True, help="the report day, YYYY-MM-DD")
    link.add_argument(
        "--expires", type=int, default=300, help="seconds the links stay valid (default 300)"
    )
    cli_live.add_commands(sub)
    args = parser.parse_args(argv)

    if args.command in cli_live.COMMANDS:
        with terminal.keep():
            return cli_live.run(args)

    if args.command in ("collect", "rebuild"):
        with terminal.keep():
            try:
                return _materialize(args, args.command)
            except KeyboardInterrupt:  # between runs (a run itself is ended by the runner)
                terminal.error("stream-stats: error: interrupted")
                return 130
    if args.command == "simulator":
        return _simulator(args)
    if args.command == "restore-raw":
        return _restore_raw(args)
    if args.command == "migrate-private":
        return _migrate_private()
    if args.command == "creator-link":
        return _creator_link(args)
    from .preflight import run_checks

    return run_checks()


if __name__ == "__main__":
    sys.exit(main())
