"""`stream-stats check`: prove the configuration works before a run spends minutes on it.

One line per check, `ok   <what>` or `FAIL <what>: <reason>`, and exit status 0 only if every
check passed (2 for a configuration error, as the other commands). Checked:

- the Cloudflare side (source `cloudflare`): one GraphQL request of one node over one hour of
  yesterday (token + Account Analytics access; it costs one of the 300 nodes per 5 minutes)
  and one Stream REST call, `GET /accounts/{id}/stream?limit=1` (Stream read). With the
  built-in simulator as the source there is no account to check, and the line says so;
- the storage side: `STATS_BUCKET` and `LOG_BUCKET` can be written, read, listed and deleted
  from (`storage.preflight.check_bucket`, a small probe object that is removed again).

No secret is ever printed: every message is built from names, URLs and Cloudflare's or the
S3 endpoint's error codes, and scrubbed of the token and the R2 keys before it is shown.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator, Mapping
from zoneinfo import ZoneInfo

from .config import ConfigError, Settings, load_settings

# The checks must answer in seconds: no 5-minute budget waits, few retries.
CHECK_LIMITS = {
    "max_attempts": 3,
    "backoff_base_seconds": 0.5,
    "max_wait_seconds": 20.0,
    "deadline_seconds": 60.0,
    "timeout_seconds": 20.0,
}

Check = tuple[str, Callable[[], str | None]]  # (what, run -> None if ok else a reason)


def _secrets(settings: Settings) -> list[str]:
    values = (settings.api_token, settings.r2_access_key_id, settings.r2_secret_access_key)
    return [v.get_secret_value() for v in values if v is not None]


def _clean(text: str, secrets: list[str]) -> str:
    from .cloudflare.errors import one_line, scrub

    return one_line(scrub(text, *secrets))


def cloudflare_checks(settings: Settings) -> Iterator[Check]:
    """GraphQL analytics and Stream REST access of the configured account."""
    from .cloudflare.client import ClientLimits
    from .defs.cloudflare_resource import CloudflareResource

    assert settings.api_token is not None and settings.account_id  # load_settings checks
    resource = CloudflareResource(
        source="cloudflare",
        api_base_url=settings.api_base_url,
        account_id=settings.account_id,
        api_token=settings.api_token.get_secret_value(),
        timezone=settings.timezone,
    )
    limits = ClientLimits(**CHECK_LIMITS)  # type: ignore[arg-type]
    account = f"account {settings.account_id} at {settings.api_base_url}"

    def graphql() -> str | None:
        # The first hour of yesterday (report time zone): one node, at most one row.
        tz = ZoneInfo(settings.timezone)
        today = dt.datetime.now(tz).date()
        start = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(), tz)
        start_utc = start.astimezone(dt.UTC)
        with resource.client(limits=limits) as client:
            client.fetch_hourly(start_utc, start_utc + dt.timedelta(hours=1))
        return None

    def stream() -> str | None:
        with resource.client(limits=limits) as client:
            pages = client.list_videos(limit=1)
            try:
                next(pages, None)
            finally:
                pages.close()
        return None

    yield f"Cloudflare GraphQL analytics ({account})", graphql
    yield f"Cloudflare Stream read ({account}, GET /stream?limit=1)", stream


def storage_checks(settings: Settings) -> Iterator[Check]:
    """Each bucket can be written, read, listed and deleted from."""
    from .storage import make_store
    from .storage.preflight import check_bucket

    store = make_store(settings)
    buckets = {"STATS_BUCKET": settings.stats_bucket, "LOG_BUCKET": settings.log_bucket}
    if settings.private_bucket != settings.stats_bucket:
        buckets["PRIVATE_BUCKET"] = settings.private_bucket
    for variable, bucket in buckets.items():
        yield (
            f"{variable} {bucket} ({store.describe()})",
            lambda bucket=bucket: check_bucket(store, bucket),
        )


def run_checks(env: Mapping[str, str] | None = None, *, echo: Callable[[str], None] = print) -> int:
    """Run every check, print one line each; 0 if all passed, 1 if any failed, 2 on bad config."""
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        print(f"stream-stats: error: {exc}", file=sys.stderr)
        return 2
    secrets = _secrets(settings)
    echo(f"stream-stats check: {settings.describe()}")
    failed = 0
    if settings.source == "simulator":
        echo(
            "ok   Cloudflare: the built-in simulator is the source "
            "(CLOUDFLARE_API_TOKEN is not set), so there is no account to check"
        )
        checks: list[Iterator[Check]] = []
    else:
        checks = [cloudflare_checks(settings)]
    checks.append(storage_checks(settings))
    for group in checks:
        try:
            for what, check in group:
                try:
                    reason = check()
                except Exception as exc:  # any failure is one line, never a traceback
                    reason = _reason(exc)
                if reason is None:
                    echo(f"ok   {what}")
                else:
                    failed += 1
                    echo(f"FAIL {what}: {_clean(reason, secrets)}")
        except Exception as exc:  # building the checks failed (e.g. a bad endpoint URL)
            failed += 1
            echo(f"FAIL setup: {_clean(_reason(exc), secrets)}")
    return 1 if failed else 0


def _reason(exc: BaseException) -> str:
    """The exception's own message for the project's one-line errors, else its type too."""
    from .cloudflare.errors import CloudflareError
    from .storage.base import StorageError

    if isinstance(exc, CloudflareError | StorageError | ConfigError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
