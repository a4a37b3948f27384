"""Settings from the environment (contract §3), validated in one place.

Half-set configuration is an error, never a silent fallback, and every error is one line.
Secrets are held as `SecretStr` so that they never reach a repr or a log line.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from .dates import BadDateError, parse_day
from .reports.live.limits import DriftLimits

DEFAULT_API_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_START_DATE = dt.date(2025, 1, 1)
DEFAULT_TIMEZONE = "Asia/Seoul"
DEFAULT_LOCAL_DIR = "./.stream-stats-data"
DEFAULT_STATS_BUCKET = "points-system-bucket"
DEFAULT_LOG_BUCKET = "logs-bucket"
DEFAULT_TOP_VIDEOS = 1000
# Stream's prices (issue 14): per 1,000 minutes stored per month, per 1,000 minutes delivered.
DEFAULT_CURRENCY = "USD"
DEFAULT_STORAGE_PRICE = "5"
DEFAULT_DELIVERY_PRICE = "1"
DEFAULT_COLD_AFTER_DAYS = 30
MAX_PRICE = 1_000_000  # per 1,000 minutes: far above any real price, and it fits the sums


class ConfigError(ValueError):
    """Missing, half-set or invalid configuration; the message is one line."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Literal["cloudflare", "simulator"]
    api_base_url: str = DEFAULT_API_BASE_URL
    account_id: str | None = None
    api_token: SecretStr | None = None

    r2_endpoint_url: str | None = None
    r2_access_key_id: SecretStr | None = None
    r2_secret_access_key: SecretStr | None = None
    local_dir: str = DEFAULT_LOCAL_DIR

    stats_bucket: str = DEFAULT_STATS_BUCKET
    log_bucket: str = DEFAULT_LOG_BUCKET
    # Everything that is not a report for readers (raw facts and their revisions, the
    # catalogue cache and snapshots, costs, live samples); by default the stats bucket
    private_bucket: str = DEFAULT_STATS_BUCKET
    timezone: str = DEFAULT_TIMEZONE
    start_date: dt.date = DEFAULT_START_DATE
    top_videos: int = Field(default=DEFAULT_TOP_VIDEOS, ge=1, le=10000)
    automation: Literal["running", "stopped"] = "running"  # schedules and sensors at load
    # cost reports: prices in micro-units of the currency (integers: byte-stable, exact sums)
    currency: str = DEFAULT_CURRENCY
    storage_price_micros: int = Field(default=5_000_000, ge=0)  # per 1,000 min stored / month
    delivery_price_micros: int = Field(default=1_000_000, ge=0)  # per 1,000 min delivered
    cold_after_days: int = Field(default=DEFAULT_COLD_AFTER_DAYS, ge=1, le=3650)
    # the drift of the live counts that live_drift's checks let pass (docs/live.md, "Drift")
    live_drift_limits: DriftLimits = DriftLimits()

    @property
    def storage_kind(self) -> Literal["r2", "local"]:
        return "r2" if self.r2_endpoint_url else "local"

    def describe(self) -> str:
        """One line for logs and the CLI: which source and storage a run uses (no secrets)."""
        src = (
            "built-in Cloudflare simulator"
            if self.source == "simulator"
            else f"Cloudflare account {self.account_id} at {self.api_base_url}"
        )
        dst = (
            f"R2 {self.r2_endpoint_url}"
            if self.storage_kind == "r2"
            else f"local directory {os.path.abspath(self.local_dir)}"
        )
        return f"source: {src}; storage: {dst}; time zone {self.timezone}"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def _price_micros(env: Mapping[str, str], name: str, default: str) -> int:
    """A price such as "5" or "0.0045" as integer micro-units (at most 6 decimals)."""
    text = _get(env, name) or default
    try:
        micros = decimal.Decimal(text) * 1_000_000
    except decimal.InvalidOperation:
        micros = decimal.Decimal(-1)
    if (
        not micros.is_finite()
        or micros < 0
        or micros > MAX_PRICE * 1_000_000
        or micros != micros.to_integral_value()
    ):
        raise ConfigError(
            f"{name} must be a price from 0 to {MAX_PRICE:,} with at most 6 decimals, not {text!r}"
        )
    return int(micros)


def _endpoint(name: str, url: str) -> str:
    """An R2 endpoint must be an http(s) URL with a host: anything else fails here, in one
    line, not deep inside boto3."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        ok = False
    if not ok:
        shown = "a value with credentials in it" if "@" in url else repr(url)
        raise ConfigError(
            f"{name} must be an http(s) URL such as "
            f"https://<account>.r2.cloudflarestorage.com, not {shown}"
        )
    return url


def _r2(env: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """R2's endpoint and keys (all three, or none: a local directory), or one line naming
    what is missing."""
    endpoint = _get(env, "R2_ENDPOINT_URL")
    if endpoint:
        _endpoint("R2_ENDPOINT_URL", endpoint)
    r2_account = _get(env, "R2_ACCOUNT_ID")
    if not endpoint and r2_account:
        endpoint = f"https://{r2_account}.r2.cloudflarestorage.com"
    key_id = _get(env, "R2_ACCESS_KEY_ID")
    secret = _get(env, "R2_SECRET_ACCESS_KEY")
    if (key_id or secret) and not endpoint:
        raise ConfigError("R2 keys are set but R2_ENDPOINT_URL (or R2_ACCOUNT_ID) is missing")
    if endpoint and not (key_id and secret):
        missing = [
            n for n, v in (("R2_ACCESS_KEY_ID", key_id), ("R2_SECRET_ACCESS_KEY", secret)) if not v
        ]
        raise ConfigError(f"R2 endpoint is set but {' and '.join(missing)} is missing")
    return endpoint, key_id, secret


def _timezone(env: Mapping[str, str]) -> str:
    timezone = _get(env, "STREAM_STATS_TIMEZONE") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"STREAM_STATS_TIMEZONE {timezone!r} is not a known time zone") from None
    return timezone


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read contract §3's variables; raise ConfigError with one line naming what is wrong."""
    env = os.environ if env is None else env
    account_id = _get(env, "CLOUDFLARE_ACCOUNT_ID")
    token = _get(env, "CLOUDFLARE_API_TOKEN")
    if token and not account_id:
        raise ConfigError("CLOUDFLARE_API_TOKEN is set but CLOUDFLARE_ACCOUNT_ID is missing")
    if account_id and not token:
        raise ConfigError("CLOUDFLARE_ACCOUNT_ID is set but CLOUDFLARE_API_TOKEN is missing")

    explicit = _get(env, "STREAM_STATS_SOURCE")
    if explicit not in (None, "cloudflare", "simulator"):
        raise ConfigError(
            f"STREAM_STATS_SOURCE must be 'cloudflare' or 'simulator', not {explicit!r}"
        )
    source = explicit or ("cloudflare" if token else "simulator")
    if source == "cloudflare" and not token:
        raise ConfigError(
            "STREAM_STATS_SOURCE=cloudflare needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN"
        )

    endpoint, key_id, secret = _r2(env)
    if endpoint and not token and explicit != "simulator":
        raise ConfigError(
            "R2 is configured but no Cloudflare token is set: refusing to write simulator data "
            "to a real bucket (set STREAM_STATS_SOURCE=simulator to do it on purpose)"
        )

    timezone = _timezone(env)

    start_text = _get(env, "STREAM_STATS_START_DATE")
    try:
        start = parse_day(start_text) if start_text else DEFAULT_START_DATE
    except BadDateError as exc:
        raise ConfigError(f"STREAM_STATS_START_DATE: {exc}") from None

    top_text = _get(env, "STREAM_STATS_TOP_VIDEOS")
    try:
        top = int(top_text) if top_text else DEFAULT_TOP_VIDEOS
    except ValueError:
        top = -1
    if not 1 <= top <= 10000:
        raise ConfigError(
            f"STREAM_STATS_TOP_VIDEOS must be an integer in 1..10000, not {top_text!r}"
        )

    automation = (_get(env, "STREAM_STATS_AUTOMATION") or "running").lower()
    if automation not in ("running", "stopped"):
        raise ConfigError(
            f"STREAM_STATS_AUTOMATION must be 'running' or 'stopped', not {automation!r}"
        )

    currency = _get(env, "STREAM_STATS_CURRENCY") or DEFAULT_CURRENCY
    if not (
        currency.isascii() and currency.isalpha() and currency.isupper() and len(currency) == 3
    ):
        raise ConfigError(
            f"STREAM_STATS_CURRENCY must be an ISO 4217 code such as USD, not {currency!r}"
        )
    cold_text = _get(env, "STREAM_STATS_COLD_AFTER_DAYS")
    try:
        cold_after = int(cold_text) if cold_text else DEFAULT_COLD_AFTER_DAYS
    except ValueError:
        cold_after = 0
    if not 1 <= cold_after <= 3650:
        raise ConfigError(
            f"STREAM_STATS_COLD_AFTER_DAYS must be an integer in 1..3650, not {cold_text!r}"
        )

    stats_bucket = _get(env, "STATS_BUCKET") or DEFAULT_STATS_BUCKET
    return Settings(
        source=source,
        automation=automation,
        api_base_url=(_get(env, "CLOUDFLARE_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/"),
        account_id=account_id,
        api_token=SecretStr(token) if token else None,
        r2_endpoint_url=endpoint,
        r2_access_key_id=SecretStr(key_id) if key_id else None,
        r2_secret_access_key=SecretStr(secret) if secret else None,
        local_dir=_get(env, "STREAM_STATS_LOCAL_DIR") or DEFAULT_LOCAL_DIR,
        stats_bucket=stats_bucket,
        log_bucket=_get(env, "LOG_BUCKET") or DEFAULT_LOG_BUCKET,
        private_bucket=_get(env, "PRIVATE_BUCKET") or stats_bucket,
        timezone=timezone,
        start_date=start,
        top_videos=top,
        currency=currency,
        storage_price_micros=_price_micros(
            env, "STREAM_STATS_STORAGE_PRICE", DEFAULT_STORAGE_PRICE
        ),
        delivery_price_micros=_price_micros(
            env, "STREAM_STATS_DELIVERY_PRICE", DEFAULT_DELIVERY_PRICE
        ),
        cold_after_days=cold_after,
        live_drift_limits=_drift_limits(env),
    )


def _drift_limits(env: Mapping[str, str]) -> DriftLimits:
    """`STREAM_STATS_LIVE_DRIFT_LIMITS`: `viewers=5,minutes=5,ivs_viewers=5,severity=WARN`,
    any of them (the others keep their defaults)."""
    text = _get(env, "STREAM_STATS_LIVE_DRIFT_LIMITS")
    if not text:
        return DriftLimits()
    try:
        pairs = dict(item.split("=", 1) for item in text.replace(" ", "").split(",") if item)
        return DriftLimits.model_validate(
            {k: v.upper() if k == "severity" else v for k, v in pairs.items()}
        )
    except (ValueError, ValidationError):
        raise ConfigError(
            "STREAM_STATS_LIVE_DRIFT_LIMITS must be like viewers=5,minutes=5,ivs_viewers=5,"
            f"severity=WARN (severity WARN or ERROR), not {text!r}"
        ) from None


# The live sampler (docs/live.md): a process of its own, outside Dagster. Only it reads these
# variables (`load_live_settings`); the code location and its runs never do, so the deployment
# files of the Dagster services do not carry the Redis password.
DEFAULT_LIVE_KEY_PREFIX = "ivs:prod:"
DEFAULT_LIVE_SAMPLE_SECONDS = 15.0
DEFAULT_LIVE_RESCAN_SAMPLES = 4
DEFAULT_LIVE_SPOOL_DIR = "./.stream-stats-live-spool"
DEFAULT_LIVE_HEARTBEAT_SCAN_SECONDS = 60.0
DEFAULT_LIVE_FRESH_SECONDS = 60.0
LIVE_VARIABLES = (
    "REDIS_URL",
    "LIVE_SAMPLE_SECONDS",
    "LIVE_RESCAN_SAMPLES",
    "LIVE_KEY_PREFIX",
    "LIVE_SPOOL_DIR",
    "LIVE_HEARTBEAT_SCAN_SECONDS",
    "LIVE_FRESH_SECONDS",
    "LIVE_IVS_REGION",
    "LIVE_IVS_ENDPOINT_URL",
    "LIVE_IVS_CALLS_PER_PASS",
    "LIVE_IVS_SECONDS",
)
DEFAULT_LIVE_IVS_CALLS_PER_PASS = 20
DEFAULT_LIVE_IVS_SECONDS = 60.0
REDIS_SCHEMES = ("redis", "rediss", "unix")
GLOB_CHARACTERS = set("*?[]\\")


class LiveSettings(BaseModel):
    """What the live sampler (and the live simulator) need: the platform's Redis, how often to
    sample it, where the spool is, and where finished hours go (R2 or the local directory, in
    `PRIVATE_BUCKET`). `describe()` and every error show the Redis URL without its password."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    redis_url: SecretStr
    sample_seconds: float = Field(default=DEFAULT_LIVE_SAMPLE_SECONDS, ge=0.1, le=3600)
    rescan_samples: int = Field(default=DEFAULT_LIVE_RESCAN_SAMPLES, ge=1, le=10000)
    key_prefix: str = DEFAULT_LIVE_KEY_PREFIX
    spool_dir: str = DEFAULT_LIVE_SPOOL_DIR
    # HSCAN of the heartbeat hashes every this many seconds (not every sample), counting the
    # heartbeats updated within `fresh_seconds` of Redis TIME (the platform's cleanup: 60 s)
    heartbeat_scan_seconds: float = Field(
        default=DEFAULT_LIVE_HEARTBEAT_SCAN_SECONDS, ge=1, le=3600
    )
    fresh_seconds: float = Field(default=DEFAULT_LIVE_FRESH_SECONDS, ge=1, le=3600)
    # reconciliation with IVS (live/ivs.py): on when a region is set and boto3 finds
    # credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web identity, a role)
    ivs_region: str | None = None
    ivs_endpoint_url: str | None = None  # a fake IVS, for tests and the demo
    ivs_calls_per_pass: int = Field(default=DEFAULT_LIVE_IVS_CALLS_PER_PASS, ge=2, le=1000)
    ivs_seconds: float = Field(default=DEFAULT_LIVE_IVS_SECONDS, ge=1, le=3600)
    timezone: str = DEFAULT_TIMEZONE  # hours are cut at the report time zone's hour starts
    r2_endpoint_url: str | None = None
    r2_access_key_id: SecretStr | None = None
    r2_secret_access_key: SecretStr | None = None
    local_dir: str = DEFAULT_LOCAL_DIR
    private_bucket: str = DEFAULT_STATS_BUCKET

    @property
    def storage_kind(self) -> Literal["r2", "local"]:
        return "r2" if self.r2_endpoint_url else "local"

    @property
    def redis_shown(self) -> str:
        return shown_redis_url(self.redis_url.get_secret_value())

    def describe(self) -> str:
        """One line for the sampler's start (no secrets)."""
        dst = (
            f"R2 {self.r2_endpoint_url}"
            if self.storage_kind == "r2"
            else f"local directory {os.path.abspath(self.local_dir)}"
        )
        return (
            f"redis {self.redis_shown}, prefix {self.key_prefix!r}, every "
            f"{self.sample_seconds:g} s, heartbeat scan every {self.heartbeat_scan_seconds:g} s "
            f"(fresh: {self.fresh_seconds:g} s); "
            + (
                f"IVS {self.ivs_region} every {self.ivs_seconds:g} s, at most "
                f"{self.ivs_calls_per_pass} calls; "
                if self.ivs_region
                else "no IVS reconciliation (LIVE_IVS_REGION unset); "
            )
            + f"spool {os.path.abspath(self.spool_dir)}; "
            f"finished hours to {dst}, bucket {self.private_bucket}; time zone {self.timezone}"
        )


def shown_redis_url(url: str) -> str:
    """The URL as it may be shown: its password (in the user part or the query) replaced by
    `***`. Anything that does not parse is not shown at all."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(a value that is not a redis:// URL)"
    user = parts.username or ""
    if parts.password is not None:
        user = f"{user}:***"
    netloc = f"{user}@{host}{port}" if user else f"{host}{port}"
    query = "&".join(
        f"{k}=***" if k.lower() == "password" else f"{k}={v}" if v else k
        for k, _, v in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def _redis_url(env: Mapping[str, str]) -> str:
    url = _get(env, "REDIS_URL")
    if not url:
        raise ConfigError(
            "REDIS_URL is not set: the live sampler reads the platform's Redis, e.g. "
            "rediss://sampler:<password>@redis.example.com:6380/0"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
        ok = parts.scheme in REDIS_SCHEMES and (bool(parts.hostname) or parts.scheme == "unix")
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(
            f"REDIS_URL must be a redis://, rediss:// (TLS) or unix:// URL, not "
            f"{shown_redis_url(url)}"
        )
    return url


def _live_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = _get(env, name)
    try:
        value = float(text) if text else default
    except ValueError:
        value = -1.0
    if not 1 <= value <= 3600:  # NaN fails too
        raise ConfigError(f"{name} must be a number of seconds in 1..3600, not {text!r}")
    return value


def load_live_settings(env: Mapping[str, str] | None = None) -> LiveSettings:
    """The live sampler's settings; ConfigError with one line naming the variable."""
    env = os.environ if env is None else env
    url = _redis_url(env)
    text = _get(env, "LIVE_SAMPLE_SECONDS")
    try:
        seconds = float(text) if text else DEFAULT_LIVE_SAMPLE_SECONDS
    except ValueError:
        seconds = -1.0
    if not 0.1 <= seconds <= 3600:  # NaN fails too
        raise ConfigError(
            f"LIVE_SAMPLE_SECONDS must be a number of seconds in 0.1..3600, not {text!r}"
        )
    rescan_text = _get(env, "LIVE_RESCAN_SAMPLES")
    try:
        rescan = int(rescan_text) if rescan_text else DEFAULT_LIVE_RESCAN_SAMPLES
    except ValueError:
        rescan = 0
    if not 1 <= rescan <= 10000:
        raise ConfigError(
            f"LIVE_RESCAN_SAMPLES must be an integer in 1..10000, not {rescan_text!r}"
        )
    prefix = _get(env, "LIVE_KEY_PREFIX") or DEFAULT_LIVE_KEY_PREFIX
    if GLOB_CHARACTERS & set(prefix):
        raise ConfigError(
            f"LIVE_KEY_PREFIX must not hold SCAN pattern characters (* ? [ ] \\), not {prefix!r}"
        )
    scan = _live_seconds(env, "LIVE_HEARTBEAT_SCAN_SECONDS", DEFAULT_LIVE_HEARTBEAT_SCAN_SECONDS)
    ivs_every = _live_seconds(env, "LIVE_IVS_SECONDS", DEFAULT_LIVE_IVS_SECONDS)
    calls_text = _get(env, "LIVE_IVS_CALLS_PER_PASS")
    try:
        calls = int(calls_text) if calls_text else DEFAULT_LIVE_IVS_CALLS_PER_PASS
    except ValueError:
        calls = 0
    if not 2 <= calls <= 1000:
        raise ConfigError(
            f"LIVE_IVS_CALLS_PER_PASS must be an integer in 2..1000, not {calls_text!r}"
        )
    fresh = _live_seconds(env, "LIVE_FRESH_SECONDS", DEFAULT_LIVE_FRESH_SECONDS)
    endpoint, key_id, secret = _r2(env)
    return LiveSettings(
        redis_url=SecretStr(url),
        sample_seconds=seconds,
        rescan_samples=rescan,
        key_prefix=prefix,
        spool_dir=_get(env, "LIVE_SPOOL_DIR") or DEFAULT_LIVE_SPOOL_DIR,
        heartbeat_scan_seconds=scan,
        fresh_seconds=fresh,
        ivs_region=_get(env, "LIVE_IVS_REGION"),
        ivs_endpoint_url=_get(env, "LIVE_IVS_ENDPOINT_URL"),
        ivs_calls_per_pass=calls,
        ivs_seconds=ivs_every,
        timezone=_timezone(env),
        r2_endpoint_url=endpoint,
        r2_access_key_id=SecretStr(key_id) if key_id else None,
        r2_secret_access_key=SecretStr(secret) if secret else None,
        local_dir=_get(env, "STREAM_STATS_LOCAL_DIR") or DEFAULT_LOCAL_DIR,
        private_bucket=_get(env, "PRIVATE_BUCKET")
        or _get(env, "STATS_BUCKET")
        or DEFAULT_STATS_BUCKET,
    )
