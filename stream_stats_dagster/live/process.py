"""The sampler as a process (`stream-stats live-sampler`): settings, Redis, spool, uploads,
signals. Runs until SIGTERM or Ctrl-C (or `--for` seconds), then uploads whatever hours have
ended and exits 0; the hour still running stays in the spool for the next start."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

from ..config import LiveSettings
from ..storage import make_store
from .keys import RedisKeys
from .reader import RedisReader, RedisRefused, connect
from .sampler import Sampler
from .spool import Spool
from .upload import UploadWorker

TIMEOUT_CAP_SECONDS = 5.0


def run_sampler(
    settings: LiveSettings,
    say: Callable[[str], None],
    *,
    seconds: float | None = None,
    stop: threading.Event | None = None,
) -> int:
    stop = stop or threading.Event()
    secret = settings.redis_url.get_secret_value()
    password = _password(secret)
    client = connect(secret, min(settings.sample_seconds, TIMEOUT_CAP_SECONDS))
    reader = RedisReader(client, RedisKeys(settings.key_prefix), secret=password)
    spool = Spool(settings.spool_dir)
    for name in spool.repair():
        say(f"spool: {name} ended in a cut line (the sampler was killed): dropped that line")
    store = make_store(settings)  # type: ignore[arg-type]  (duck-typed: storage fields)
    sampler = Sampler(
        reader,
        spool,
        interval_seconds=settings.sample_seconds,
        rescan_samples=settings.rescan_samples,
        timezone=settings.timezone,
        say=say,
        heartbeat_scan_seconds=settings.heartbeat_scan_seconds,
        fresh_seconds=settings.fresh_seconds,
        reconcile_seconds=settings.ivs_seconds,
    )
    reconciler = _reconciler(settings, say)
    ivs = None
    if reconciler is not None:
        from .ivs import BackgroundReconciler

        ivs = sampler.reconciler = BackgroundReconciler(reconciler, sampler.write_lines)
        ivs.start()
    uploads = UploadWorker(
        spool,
        store,
        settings.private_bucket,
        settings.timezone,
        settings.key_prefix,
        sampler.ended_before,
        say=say,
    )
    say(f"live-sampler: {settings.describe()}")
    backlog = spool.hours()
    if backlog:
        say(f"spool: {len(backlog)} hour(s) kept from before, uploaded once they have ended")
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    started = False
    try:

        def on_tick() -> None:
            nonlocal started
            if not started:  # the Redis clock is known (or known to be silent) from here on
                uploads.start()
                started = True
            else:
                uploads.wake.set()

        until = None if seconds is None else time.monotonic() + seconds
        sampler.run(stop, on_tick=on_tick, until=until)
    except RedisRefused as exc:
        say(f"live-sampler: error: {exc}")
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if ivs is not None:
            ivs.stop()
            ivs.join(timeout=30)
        if started:
            uploads.stop()
            uploads.join(timeout=60)
        uploads.pass_once()  # the hours that ended with the last samples
        client.close()
    say(f"live-sampler: stopped after {sampler.samples} samples; spool {spool.root}")
    return 0


def _reconciler(settings: LiveSettings, say: Callable[[str], None]):
    """The IVS reconciler when a region is set and boto3 finds credentials, else None (said)."""
    if not settings.ivs_region:
        return None
    import boto3

    from .ivs import IvsReconciler, make_client

    if boto3.Session().get_credentials() is None:
        say(
            f"ivs: LIVE_IVS_REGION is {settings.ivs_region} but no AWS credentials were found "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web identity or a role): no "
            "reconciliation"
        )
        return None
    client = make_client(settings.ivs_region, settings.ivs_endpoint_url)
    return IvsReconciler(client, settings.ivs_calls_per_pass, say=say)


def _password(url: str) -> str | None:
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    if parts.password:
        return unquote(parts.password)
    values = parse_qs(parts.query).get("password")
    return values[0] if values else None
