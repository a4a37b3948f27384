"""Signed links to one creator's own files, for the platform's web app (README, "Each
creator's own files").

An uploader's page reads two files: their day (the day's row, the last 7 days, their videos
and posts) and their week (the newest complete ISO week on or before the day). The app
checks the session, then either reads those two keys itself with its read-only token, or
hands the browser links signed for exactly those keys: presigned S3 GETs against R2's S3
endpoint (SigV4, region `auto`), valid for `expires` seconds. A link names one key: it
cannot be turned into another creator's file, and it stops working when it expires.

Signing needs no request to R2 (the signature is computed locally from the keys): the app's
read-only token is enough, and the links are only as private as the bucket. A public
bucket serves every creator's files to anyone: keep the reports' bucket private.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .config import ConfigError, Settings, load_settings
from .dates import monday_of, parse_day
from .files import CREATOR_FILES
from .keys import creator_key

DEFAULT_EXPIRES = 300
MAX_EXPIRES = 7 * 24 * 3600  # SigV4's limit for a presigned URL


@dataclass(frozen=True)
class CreatorLink:
    """One signed GET: what it reads, where, and until when."""

    file: str  # "day" or "week"
    key: str
    url: str
    expires_at: dt.datetime


def creator_file_keys(creator: str, day: dt.date, secret: bytes | None) -> dict[str, str]:
    """The keys of `creator`'s day file of `day` and week file of the newest complete week
    on or before it (the week of `day` if it is a Sunday, else the week before)."""
    ck = creator_key(creator, secret)
    monday = monday_of(day) - (dt.timedelta(days=0) if day.weekday() == 6 else dt.timedelta(7))
    return {
        "day": CREATOR_FILES["creator_days"].key(ck, day.isoformat()),
        "week": CREATOR_FILES["creator_weeks"].key(ck, monday.isoformat()),
    }


def creator_links(
    creator: str,
    day: dt.date | str,
    expires: int = DEFAULT_EXPIRES,
    *,
    settings: Settings | None = None,
) -> list[CreatorLink]:
    """Presigned GET URLs of exactly `creator`'s files for `day` (`creator_file_keys`) in
    `STATS_BUCKET`, valid for `expires` seconds; R2's endpoint and keys come from the
    settings (the environment by default). `ConfigError` in one line when R2 is not set."""
    settings = settings or load_settings()
    if not settings.r2_endpoint_url:
        raise ConfigError("signed links need R2: set R2_ENDPOINT_URL and its keys")
    if not 1 <= expires <= MAX_EXPIRES:
        raise ConfigError(f"expires must be 1..{MAX_EXPIRES} seconds, not {expires}")
    if isinstance(day, str):
        day = parse_day(day)
    from .storage.r2 import make_r2_client

    key_id, secret_key = settings.r2_access_key_id, settings.r2_secret_access_key
    client = make_r2_client(
        endpoint_url=settings.r2_endpoint_url,
        aws_access_key_id=key_id.get_secret_value() if key_id else None,
        aws_secret_access_key=secret_key.get_secret_value() if secret_key else None,
    )
    keys = creator_file_keys(creator, day, settings.creator_key_bytes)
    signed_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return [
        CreatorLink(
            file=file,
            key=key,
            url=client.generate_presigned_url(
                "get_object",
                Params={"Bucket": settings.stats_bucket, "Key": key},
                ExpiresIn=expires,
            ),
            expires_at=signed_at + dt.timedelta(seconds=expires),
        )
        for file, key in keys.items()
    ]
