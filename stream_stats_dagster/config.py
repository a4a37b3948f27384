"""Settings from the environment (contract §3), validated in one place.

Each setting is a pydantic-settings field named by its variable (the field's alias), with its
bounds declared once on the field; rules across variables are model validators. Half-set
configuration is an error, never a silent fallback, and every error is one line naming the
variable (`load_settings` turns pydantic's ValidationError into a ConfigError). Secrets are
held as `SecretStr` so that they never reach a repr or a log line.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, TypeVar, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .dates import BadDateError, parse_day

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
_PRICE = f"a price from 0 to {MAX_PRICE:,} with at most 6 decimals"  # whole micro-units


class ConfigError(ValueError):
    """Missing, half-set or invalid configuration; the message is one line."""


class DriftLimits(BaseModel):
    """The drift `live_drift`'s checks let pass (`STREAM_STATS_LIVE_DRIFT_LIMITS`): an
    episode fails a check when it is more than `viewers` off for more than `minutes`; a
    reconciliation when the counter is more than `ivs_viewers` off IVS. `severity`: WARN (the
    default: the report is published and the check shows the drift) or ERROR (a failed check
    stops publishing)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    viewers: int = 5
    minutes: float = 5.0
    ivs_viewers: int = 5
    severity: Literal["WARN", "ERROR"] = "WARN"


class _Environment(EnvSettingsSource):
    """The variables of `env` (the process's environment by default) and nothing else, each
    field read from its variable only (never from one named like the field); a blank value
    ("" or spaces) means unset, as `NAME=` in a deployment file does."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str] | None = None):
        self._env = os.environ if env is None else env
        super().__init__(settings_cls)
        self.config = {**self.config, "validate_by_name": False}  # names are for code only

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k: v.strip() for k, v in self._env.items() if v and v.strip()}


class _Storage(BaseSettings):
    """What the pipeline and the live sampler share: where files go (R2, all of it, or a
    local directory), the private bucket and the report time zone.

    Built in code, a model holds what it is given (by field name) and reads no variable:
    `load_settings` and `load_live_settings` are where the environment is read."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        case_sensitive=True,
        validate_by_name=True,
        validate_default=True,  # unset, the source and the R2 endpoint are derived
    )

    # only to name the endpoint when R2_ENDPOINT_URL is unset
    r2_account_id: str | None = Field(
        default=None, validation_alias="R2_ACCOUNT_ID", exclude=True, repr=False
    )
    r2_endpoint_url: str | None = Field(default=None, validation_alias="R2_ENDPOINT_URL")
    r2_access_key_id: SecretStr | None = Field(default=None, validation_alias="R2_ACCESS_KEY_ID")
    r2_secret_access_key: SecretStr | None = Field(
        default=None, validation_alias="R2_SECRET_ACCESS_KEY"
    )
    local_dir: str = Field(default=DEFAULT_LOCAL_DIR, validation_alias="STREAM_STATS_LOCAL_DIR")
    stats_bucket: str = Field(default=DEFAULT_STATS_BUCKET, validation_alias="STATS_BUCKET")
    # Everything that is not a report for readers (raw facts and their revisions, the
    # catalogue cache and snapshots, costs, live samples); unset, the stats bucket
    private_bucket: str = Field(default=None, validation_alias="PRIVATE_BUCKET")
    timezone: str = Field(default=DEFAULT_TIMEZONE, validation_alias="STREAM_STATS_TIMEZONE")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # keyword arguments only (see the class's docstring)

    @field_validator("r2_endpoint_url", mode="before")
    @classmethod
    def _endpoint(cls, url: str | None, info: ValidationInfo) -> str | None:
        """An R2 endpoint must be an http(s) URL with a host: anything else fails here, in one
        line, not deep inside boto3. Without one, R2_ACCOUNT_ID names the account's."""
        if not url:
            account = info.data.get("r2_account_id")
            return f"https://{account}.r2.cloudflarestorage.com" if account else None
        try:
            parts = urlsplit(url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
        except ValueError:
            ok = False
        if not ok:
            shown = "a value with credentials in it" if "@" in url else repr(url)
            raise ConfigError(
                f"R2_ENDPOINT_URL must be an http(s) URL such as "
                f"https://<account>.r2.cloudflarestorage.com, not {shown}"
            )
        return url

    @field_validator("private_bucket", mode="before")
    @classmethod
    def _private(cls, bucket: str | None, info: ValidationInfo) -> str:
        return bucket or info.data["stats_bucket"]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia", a directory
            raise ConfigError(
                f"STREAM_STATS_TIMEZONE {timezone!r} is not a known time zone"
            ) from None
        return timezone

    @model_validator(mode="after")
    def _r2_whole(self) -> Self:
        """R2's endpoint and both keys, or none of them (a local directory)."""
        keys = {
            "R2_ACCESS_KEY_ID": self.r2_access_key_id,
            "R2_SECRET_ACCESS_KEY": self.r2_secret_access_key,
        }
        if any(keys.values()) and not self.r2_endpoint_url:
            raise ConfigError("R2 keys are set but R2_ENDPOINT_URL (or R2_ACCOUNT_ID) is missing")
        missing = [name for name, key in keys.items() if not key]
        if self.r2_endpoint_url and missing:
            raise ConfigError(f"R2 endpoint is set but {' and '.join(missing)} is missing")
        return self

    @property
    def storage_kind(self) -> Literal["r2", "local"]:
        return "r2" if self.r2_endpoint_url else "local"

    def _storage_shown(self) -> str:
        if self.storage_kind == "r2":
            return f"R2 {self.r2_endpoint_url}"
        return f"local directory {os.path.abspath(self.local_dir)}"


class Settings(_Storage):
    """The pipeline's settings: where its facts come from, where its files go, and what its
    reports cover."""

    api_base_url: str = Field(
        default=DEFAULT_API_BASE_URL, validation_alias="CLOUDFLARE_API_BASE_URL"
    )
    account_id: str | None = Field(default=None, validation_alias="CLOUDFLARE_ACCOUNT_ID")
    api_token: SecretStr | None = Field(default=None, validation_alias="CLOUDFLARE_API_TOKEN")
    # unset: Cloudflare when a token is set, else the built-in simulator
    source: Literal["cloudflare", "simulator"] = Field(
        default=None, validation_alias="STREAM_STATS_SOURCE"
    )
    log_bucket: str = Field(default=DEFAULT_LOG_BUCKET, validation_alias="LOG_BUCKET")
    start_date: dt.date = Field(
        default=DEFAULT_START_DATE, validation_alias="STREAM_STATS_START_DATE"
    )
    top_videos: int = Field(
        default=DEFAULT_TOP_VIDEOS,
        ge=1,
        le=10000,
        validation_alias="STREAM_STATS_TOP_VIDEOS",
        description="an integer in {ge}..{le}",
    )
    # schedules and sensors at load
    automation: Literal["running", "stopped"] = Field(
        default="running", validation_alias="STREAM_STATS_AUTOMATION"
    )
    # cost reports: prices in micro-units of the currency (integers: byte-stable, exact sums)
    currency: str = Field(
        default=DEFAULT_CURRENCY,
        pattern=r"^[A-Z]{3}$",
        validation_alias="STREAM_STATS_CURRENCY",
        description="an ISO 4217 code such as USD",
    )
    storage_price_micros: int = Field(  # per 1,000 min stored / month
        default=DEFAULT_STORAGE_PRICE,
        ge=0,
        le=MAX_PRICE * 1_000_000,
        validation_alias="STREAM_STATS_STORAGE_PRICE",
        description=_PRICE,
    )
    delivery_price_micros: int = Field(  # per 1,000 min delivered
        default=DEFAULT_DELIVERY_PRICE,
        ge=0,
        le=MAX_PRICE * 1_000_000,
        validation_alias="STREAM_STATS_DELIVERY_PRICE",
        description=_PRICE,
    )
    cold_after_days: int = Field(
        default=DEFAULT_COLD_AFTER_DAYS,
        ge=1,
        le=3650,
        validation_alias="STREAM_STATS_COLD_AFTER_DAYS",
        description="an integer in {ge}..{le}",
    )
    # keys each creator's files (docs/contract.md §11); None: a plain SHA-256 of the id
    creator_key_secret: SecretStr | None = Field(
        default=None, validation_alias="STREAM_STATS_CREATOR_KEY_SECRET"
    )
    # the drift of the live counts that live_drift's checks let pass (docs/live.md, "Drift")
    live_drift_limits: Annotated[DriftLimits, NoDecode] = Field(
        default=DriftLimits(),
        validation_alias="STREAM_STATS_LIVE_DRIFT_LIMITS",
        description="like viewers=5,minutes=5,ivs_viewers=5,severity=WARN (severity WARN or ERROR)",
    )

    @field_validator("api_base_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, source: str | None, info: ValidationInfo) -> str:
        return source or ("cloudflare" if info.data.get("api_token") else "simulator")

    @field_validator("start_date", mode="before")
    @classmethod
    def _day(cls, day: Any) -> Any:
        """YYYY-MM-DD only, with the calendar's reason when it is not a day."""
        try:
            return parse_day(day) if isinstance(day, str) else day
        except BadDateError as exc:
            raise ConfigError(f"STREAM_STATS_START_DATE: {exc}") from None

    @field_validator("live_drift_limits", mode="before")
    @classmethod
    def _drift_limits(cls, text: Any) -> Any:
        """`viewers=5,minutes=5,ivs_viewers=5,severity=WARN`, any of them (the others keep
        their defaults)."""
        if not isinstance(text, str):
            return text
        pairs = dict(item.split("=", 1) for item in text.replace(" ", "").split(",") if item)
        return {k: v.upper() if k == "severity" else v for k, v in pairs.items()}

    @field_validator("automation", mode="before")
    @classmethod
    def _lower(cls, text: Any) -> Any:
        return text.lower() if isinstance(text, str) else text

    @field_validator("storage_price_micros", "delivery_price_micros", mode="before")
    @classmethod
    def _micros(cls, price: Any) -> Any:
        """A price such as "5" or "0.0045" in micro-units; the field's int validation then
        refuses what is not a whole number of them, and its bounds what is out of range."""
        if not isinstance(price, str):
            return price
        try:
            return decimal.Decimal(price) * 1_000_000
        except decimal.DecimalException:
            raise ValueError("not a number") from None

    @model_validator(mode="after")
    def _cloudflare_whole(self) -> Self:
        """The account and the token together; simulated data never goes to a real bucket
        unless the simulator is asked for."""
        if self.api_token and not self.account_id:
            raise ConfigError("CLOUDFLARE_API_TOKEN is set but CLOUDFLARE_ACCOUNT_ID is missing")
        if self.account_id and not self.api_token:
            raise ConfigError("CLOUDFLARE_ACCOUNT_ID is set but CLOUDFLARE_API_TOKEN is missing")
        if self.source == "cloudflare" and not self.api_token:
            raise ConfigError(
                "STREAM_STATS_SOURCE=cloudflare needs CLOUDFLARE_ACCOUNT_ID and "
                "CLOUDFLARE_API_TOKEN"
            )
        on_purpose = self.source == "simulator" and "source" in self.model_fields_set
        if self.r2_endpoint_url and not self.api_token and not on_purpose:
            raise ConfigError(
                "R2 is configured but no Cloudflare token is set: refusing to write simulator "
                "data to a real bucket (set STREAM_STATS_SOURCE=simulator to do it on purpose)"
            )
        return self

    @property
    def creator_key_bytes(self) -> bytes | None:
        """`STREAM_STATS_CREATOR_KEY_SECRET` as the HMAC key of `keys.creator_key`."""
        secret = self.creator_key_secret
        return secret.get_secret_value().encode("utf-8") if secret else None

    def describe(self) -> str:
        """One line for logs and the CLI: which source and storage a run uses (no secrets)."""
        src = (
            "built-in Cloudflare simulator"
            if self.source == "simulator"
            else f"Cloudflare account {self.account_id} at {self.api_base_url}"
        )
        return f"source: {src}; storage: {self._storage_shown()}; time zone {self.timezone}"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read contract §3's variables from `env` (only from it; the process's environment when
    None); raise ConfigError with one line naming what is wrong."""
    return _load(Settings, env)


# The live sampler (docs/live.md): a process of its own, outside Dagster. Only it reads these
# variables (`load_live_settings`); the code location and its runs never do, so the deployment
# files of the Dagster services do not carry the Redis password.
DEFAULT_LIVE_KEY_PREFIX = "ivs:prod:"
DEFAULT_LIVE_SAMPLE_SECONDS = 15.0
DEFAULT_LIVE_RESCAN_SAMPLES = 4
DEFAULT_LIVE_SPOOL_DIR = "./.stream-stats-live-spool"
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
DEFAULT_LIVE_HEARTBEAT_SCAN_SECONDS = 60.0
DEFAULT_LIVE_FRESH_SECONDS = 60.0
DEFAULT_LIVE_IVS_CALLS_PER_PASS = 20
DEFAULT_LIVE_IVS_SECONDS = 60.0
_SECONDS = "a number of seconds in {ge}..{le}"
REDIS_SCHEMES = ("redis", "rediss", "unix")
GLOB_CHARACTERS = set("*?[]\\")


class LiveSettings(_Storage):
    """What the live sampler (and the live simulator) need: the platform's Redis, how often to
    sample it, where the spool is, and where finished hours go (R2 or the local directory, in
    `PRIVATE_BUCKET`). `describe()` and every error show the Redis URL without its password."""

    redis_url: SecretStr = Field(
        validation_alias="REDIS_URL",
        description="the live sampler reads the platform's Redis, e.g. "
        "rediss://sampler:<password>@redis.example.com:6380/0",
    )
    sample_seconds: float = Field(
        default=DEFAULT_LIVE_SAMPLE_SECONDS,
        ge=0.1,
        le=3600,
        allow_inf_nan=False,
        validation_alias="LIVE_SAMPLE_SECONDS",
        description="a number of seconds in {ge}..{le}",
    )
    rescan_samples: int = Field(
        default=DEFAULT_LIVE_RESCAN_SAMPLES,
        ge=1,
        le=10000,
        validation_alias="LIVE_RESCAN_SAMPLES",
        description="an integer in {ge}..{le}",
    )
    key_prefix: str = Field(default=DEFAULT_LIVE_KEY_PREFIX, validation_alias="LIVE_KEY_PREFIX")
    spool_dir: str = Field(default=DEFAULT_LIVE_SPOOL_DIR, validation_alias="LIVE_SPOOL_DIR")
    # HSCAN of the heartbeat hashes every this many seconds (not every sample), counting the
    # heartbeats updated within `fresh_seconds` of Redis TIME (the platform's cleanup: 60 s)
    heartbeat_scan_seconds: float = Field(
        default=DEFAULT_LIVE_HEARTBEAT_SCAN_SECONDS,
        ge=1,
        le=3600,
        allow_inf_nan=False,
        validation_alias="LIVE_HEARTBEAT_SCAN_SECONDS",
        description=_SECONDS,
    )
    fresh_seconds: float = Field(
        default=DEFAULT_LIVE_FRESH_SECONDS,
        ge=1,
        le=3600,
        allow_inf_nan=False,
        validation_alias="LIVE_FRESH_SECONDS",
        description=_SECONDS,
    )
    # reconciliation with IVS (live/ivs.py): on when a region is set and boto3 finds
    # credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web identity, a role)
    ivs_region: str | None = Field(default=None, validation_alias="LIVE_IVS_REGION")
    ivs_endpoint_url: str | None = Field(  # a fake IVS, for tests and the demo
        default=None, validation_alias="LIVE_IVS_ENDPOINT_URL"
    )
    ivs_calls_per_pass: int = Field(
        default=DEFAULT_LIVE_IVS_CALLS_PER_PASS,
        ge=2,
        le=1000,
        validation_alias="LIVE_IVS_CALLS_PER_PASS",
        description="an integer in {ge}..{le}",
    )
    ivs_seconds: float = Field(
        default=DEFAULT_LIVE_IVS_SECONDS,
        ge=1,
        le=3600,
        allow_inf_nan=False,
        validation_alias="LIVE_IVS_SECONDS",
        description=_SECONDS,
    )

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, url: SecretStr) -> SecretStr:
        text = url.get_secret_value()
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
            ok = parts.scheme in REDIS_SCHEMES and (bool(parts.hostname) or parts.scheme == "unix")
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(
                f"REDIS_URL must be a redis://, rediss:// (TLS) or unix:// URL, not "
                f"{shown_redis_url(text)}"
            )
        return url

    @field_validator("key_prefix")
    @classmethod
    def _no_pattern(cls, prefix: str) -> str:
        """The prefix goes into SCAN's MATCH pattern as it is."""
        if GLOB_CHARACTERS & set(prefix):
            raise ConfigError(
                f"LIVE_KEY_PREFIX must not hold SCAN pattern characters (* ? [ ] \\), "
                f"not {prefix!r}"
            )
        return prefix

    @property
    def redis_shown(self) -> str:
        return shown_redis_url(self.redis_url.get_secret_value())

    def describe(self) -> str:
        """One line for the sampler's start (no secrets)."""
        ivs = (
            f"IVS {self.ivs_region} every {self.ivs_seconds:g} s, at most "
            f"{self.ivs_calls_per_pass} calls; "
            if self.ivs_region
            else "no IVS reconciliation (LIVE_IVS_REGION unset); "
        )
        return (
            f"redis {self.redis_shown}, prefix {self.key_prefix!r}, every "
            f"{self.sample_seconds:g} s, heartbeat scan every {self.heartbeat_scan_seconds:g} s "
            f"(fresh: {self.fresh_seconds:g} s); {ivs}spool {os.path.abspath(self.spool_dir)}; "
            f"finished hours to {self._storage_shown()}, bucket {self.private_bucket}; "
            f"time zone {self.timezone}"
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


def load_live_settings(env: Mapping[str, str] | None = None) -> LiveSettings:
    """The live sampler's settings; ConfigError with one line naming the variable."""
    return _load(LiveSettings, env)


_Model = TypeVar("_Model", bound=_Storage)


def _load(model: type[_Model], env: Mapping[str, str] | None) -> _Model:
    env = os.environ if env is None else env
    try:  # `env`'s variables as the keyword arguments (the class's one source)
        return model(**_Environment(model, env)())
    except ValidationError as exc:
        raise _one_line(exc, model, env) from None


def _one_line(error: ValidationError, model: type[_Storage], env: Mapping[str, str]) -> ConfigError:
    """The first thing wrong, in one line naming its variable. The rules raise ConfigErrors
    of their own; pydantic's checks of a field (its type, its bounds) read as "NAME must be
    <the field's description, or the values it allows>, not <what NAME holds>"."""
    first = error.errors()[0]
    context = first.get("ctx") or {}
    if isinstance(context.get("error"), ConfigError):
        return context["error"]
    name = str(first["loc"][0]) if first["loc"] else ""
    field = next((f for f in model.model_fields.values() if f.validation_alias == name), None)
    if field is None:  # not from a variable: no rule raises anything but a ConfigError
        return ConfigError(f"invalid configuration: {first['msg']}")
    limits = {k: getattr(m, k) for m in field.metadata for k in ("ge", "le") if hasattr(m, k)}
    allowed = (field.description or context.get("expected", "valid")).format(**limits)
    if first["type"] == "missing":
        return ConfigError(f"{name} is not set: {allowed}")
    secret = SecretStr in (field.annotation, *get_args(field.annotation))
    value = "a secret" if secret else repr(env.get(name, "").strip() or first["input"])
    return ConfigError(f"{name} must be {allowed}, not {value}")
