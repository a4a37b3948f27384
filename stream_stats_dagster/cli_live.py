"""The live commands of `stream-stats` (docs/live.md): the sampler, the simulator, and the
live assets of a day run in-process like `collect`."""

from __future__ import annotations

import argparse
import ipaddress
from urllib.parse import urlsplit

from .commands import Commands, fail
from .config import ConfigError, load_live_settings, load_settings
from .progress import terminal

COMMANDS = ("live-sampler", "live-simulator", "live-collect", "live-demo")


def add_commands(sub: argparse._SubParsersAction) -> None:
    sampler = sub.add_parser(
        "live-sampler", help="sample the platform's Redis into the spool, upload finished hours"
    )
    sampler.add_argument("--for", dest="seconds", type=float, help="stop after this many seconds")
    sim = sub.add_parser(
        "live-simulator",
        help="drive a loopback Redis (REDIS_URL) like the platform's live stages, logging "
        "every change",
    )
    sim.add_argument("--seconds", type=float, default=120.0, help="length of the session")
    sim.add_argument("--log", required=True, help="JSON Lines file of every change")
    sim.add_argument("--peak", type=int, default=120, help="viewers at the evening's peak")
    sim.add_argument("--stage-limit", type=int, default=50, help="viewers per stage")
    sim.add_argument("--heartbeat", type=float, default=30.0, help="seconds between heartbeats")
    sim.add_argument("--silent", type=float, default=60.0, help="silence before a viewer goes")
    sim.add_argument("--cleanup", type=float, default=30.0, help="seconds between cleanups")
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument(
        "--vanish-share", type=float, default=0.2, help="share of goers who just close the tab"
    )
    # failure modes (docs/live.md, "Drift"): windows in seconds from the session's start
    sim.add_argument("--no-leaves", type=_window, help="A:B, leaves never sent in [A, B)")
    sim.add_argument("--cleanup-stopped", type=_window, help="A:B, no cleanup in [A, B)")
    sim.add_argument("--reset-at", type=float, help="an API restart resets a stage's counter")
    sim.add_argument("--decouple-at", type=float, help="a stage's counter writes lost from then")
    sim.add_argument(
        "--fake-ivs-port",
        type=int,
        help="also serve a fake IVS API knowing the session's truth on this loopback port",
    )
    collect = sub.add_parser(
        "live-collect", help="record a day's uploaded hours and build its live_viewers report"
    )
    collect.add_argument("--date", required=True, help="the report day, YYYY-MM-DD")
    collect.add_argument("-v", "--verbose", action="store_true", help="show Dagster's run logs")
    demo = sub.add_parser(
        "live-demo", help="a short simulated live session, sampled every second, and its report"
    )
    demo.add_argument("--seconds", type=float, default=120.0, help="length of the session")
    demo.add_argument(
        "--failures",
        action="store_true",
        help="switch on the four failure modes and reconcile with a fake IVS (live_drift)",
    )


def _window(text: str) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a window is A:B in seconds, not {text!r}") from None
    if not 0 <= a < b:
        raise argparse.ArgumentTypeError(f"a window needs 0 <= A < B, not {text!r}")
    return a, b


def run(args: argparse.Namespace) -> int:
    if args.command == "live-collect":
        return _collect(args)
    if args.command == "live-demo":
        from pathlib import Path

        from .live.demo import run_demo

        try:
            settings = load_settings()
        except ConfigError as exc:
            return fail(str(exc), 2)
        spool = Path(".stream-stats-live-demo") / "spool"
        return run_demo(
            args.seconds, settings.timezone, spool.resolve(), terminal.say, failures=args.failures
        )
    try:
        settings = load_live_settings()
    except ConfigError as exc:
        return fail(str(exc), 2)
    if args.command == "live-sampler":
        from .live.process import run_sampler

        return run_sampler(settings, terminal.say, seconds=args.seconds)
    return _simulate(args, settings)


def _simulate(args: argparse.Namespace, settings) -> int:
    from .live.keys import RedisKeys
    from .live.reader import connect
    from .live.simulator import Simulator, SimulatorConfig

    url = settings.redis_url.get_secret_value()
    if not _loopback(url):
        return fail(
            f"live-simulator writes to Redis: it runs against a loopback Redis only, not "
            f"{settings.redis_shown}",
            2,
        )
    config = SimulatorConfig(
        seconds=args.seconds,
        peak_viewers=args.peak,
        stage_limit=args.stage_limit,
        heartbeat_seconds=args.heartbeat,
        silent_seconds=args.silent,
        cleanup_seconds=args.cleanup,
        seed=args.seed,
        vanish_share=args.vanish_share,
        no_leaves=args.no_leaves,
        cleanup_stopped=args.cleanup_stopped,
        reset_at=args.reset_at,
        decouple_at=args.decouple_at,
    )
    client = connect(url, 5.0)
    terminal.say(f"live-simulator: {args.seconds:g} s session on {settings.redis_shown}")
    with open(args.log, "a", encoding="utf-8") as log:
        sim = Simulator(client, RedisKeys(settings.key_prefix), config, log, terminal.say)
        if args.fake_ivs_port is None:
            sim.run()
            return 0
        from .live.ivs_fake import FakeIvs

        with FakeIvs(sim.connected, port=args.fake_ivs_port) as fake:
            terminal.say(f"live-simulator: a fake IVS API on {fake.url}")
            sim.run()
    return 0


def _loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _collect(args: argparse.Namespace) -> int:
    """The day's hours that the sampler uploaded (`live_samples_job`), then its report
    (`live_viewers_job`), in-process and recorded in the Dagster instance like `collect`."""
    from .dates import BadDateError, parse_day
    from .defs.live.partitions import hours_of_day
    from .instance import BrokenInstance, dagster_home, open_instance

    try:
        settings = load_settings()
        day = parse_day(args.date)
    except (ConfigError, BadDateError) as exc:
        return fail(str(exc), 2)
    from .defs.jobs import LIVE_SAMPLES_JOB, LIVE_VIEWERS_JOB

    terminal.say(f"stream-stats live-collect {day}")
    terminal.say(f"  {settings.describe()}")
    try:
        instance = open_instance(dagster_home())
    except BrokenInstance as exc:
        return fail(str(exc))
    with instance:
        commands = Commands(instance, settings, args.verbose, args)
        runner = commands.runs
        hours = hours_of_day(day, settings.timezone)
        present = [h for h in hours if commands.store.head(settings.private_bucket, h.key)]
        terminal.say(f"  {len(present)} of the day's {len(hours)} hours were uploaded")
        if present:
            keys = [h.partition for h in present]
            outcome = runner.run(LIVE_SAMPLES_JOB, keys, f"live samples {keys[0]}..{keys[-1]}")
            if not outcome.success:
                return fail(outcome.error or "run failed")
        outcome = runner.run(LIVE_VIEWERS_JOB, [day.isoformat()], f"live viewers {day}")
        if not outcome.success:
            return fail(outcome.error or "run failed")
    from . import keys

    terminal.say(f"done; files in {commands.store.describe()}")
    terminal.say(f"  samples: {settings.private_bucket}/{keys.PREFIX}/raw/live/…")
    terminal.say(f"  report:  {settings.private_bucket}/{keys.live_viewers_key(day)}")
    terminal.say(f"  drift:   {settings.private_bucket}/{keys.live_drift_key(day)}")
    return 0
