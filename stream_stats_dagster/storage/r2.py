"""R2 backend over the S3 API (contract §3): the `ObjectStore` and the boto3 client it needs.

Only this module imports boto3 and botocore, and `storage/__init__.py` imports it lazily,
when R2 is configured (~1 s).

R2 specifics handled here (see docs/r2.md):
- region `auto`; both checksum options `when_required`, so boto3 >= 1.36 sends no CRC32 and no
  aws-chunked trailer upload (which R2 has rejected as Unauthorized), and HTTPS in production
  sends the same request shape as the HTTP loopback server in tests. The body's integrity is
  covered by a Content-MD5 header (the one checksum R2 accepts on PutObject without question).
- ETag of a single-part PUT = hex MD5 of the body, so "same bytes" is a HEAD away.
- Conditional PUTs (`If-Match`, `If-None-Match: *`) fail with 412.
- botocore retries transient failures itself (standard mode). A conditional PUT that committed
  but whose response was lost is retried and then answered 412: that case is recognized (the
  request was retried and the stored ETag is our body's MD5) and reported as written.
Every error becomes a one-line `StorageError` naming the endpoint and the bucket, never a secret.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import botocore
import botocore.exceptions as bce
import botocore.session
from botocore.config import Config

from ..progress import ANNOUNCE_AFTER_SECONDS, announce_wait, watchdog
from .base import (
    JSON_CONTENT_TYPE,
    AccessDenied,
    BucketNotFound,
    PreconditionFailed,
    PutResult,
    StorageError,
    StorageUnavailable,
    StoredObject,
    md5_hex,
)

__all__ = ["R2Store", "make_r2_client", "redact_url"]
T = TypeVar("T")

_CREDENTIAL_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "Unauthorized",
        "InvalidToken",
        "ExpiredToken",
        "AuthorizationHeaderMalformed",
        "InvalidArgument.Authorization",
    }
)
_CONNECTION_ERRORS = (
    bce.EndpointConnectionError,  # includes ConnectTimeoutError
    bce.ConnectionClosedError,
    bce.ReadTimeoutError,
    bce.ProxyConnectionError,
    bce.SSLError,
)


def make_r2_client(
    *,
    endpoint_url: str | None,
    aws_access_key_id: str | None,
    aws_secret_access_key: str | None,
    region_name: str | None = "auto",
    max_attempts: int = 5,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
    profile_name: str | None = None,
    use_ssl: bool = True,
    verify: bool | str | None = None,
    aws_session_token: str | None = None,
    use_unsigned_session: bool = False,
) -> Any:
    """A boto3 S3 client configured for R2.

    `max_attempts` is botocore's: retries after the first attempt (5 means up to 6 requests),
    standard mode (exponential backoff with jitter on 5xx, throttling and connection errors).
    """
    import boto3

    config = Config(
        retries={"max_attempts": max_attempts, "mode": "standard"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        **({"signature_version": botocore.UNSIGNED} if use_unsigned_session else {}),
    )
    if profile_name:
        session = boto3.session.Session(profile_name=profile_name)
    elif aws_access_key_id:
        # Explicit R2 keys: a stray AWS_PROFILE (meant for AWS) must not apply, and an unknown
        # one would raise ProfileNotFound before any request.
        no_profile = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
        session = boto3.session.Session(botocore_session=no_profile)
    else:
        session = boto3.session.Session()
    return session.client(
        "s3",
        region_name=region_name,
        endpoint_url=endpoint_url,
        use_ssl=use_ssl,
        verify=verify,
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
        config=config,
    )


def redact_url(url: str) -> str:
    """The URL without any `user:password@` part, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _quoted(etag: str) -> str:
    etag = etag.strip()
    return etag if etag.startswith('"') else f'"{etag}"'


def _unquoted(etag: str) -> str:
    return etag.strip().strip('"')


def _code_and_status(err: bce.ClientError) -> tuple[str, int]:
    response = err.response or {}
    code = str(response.get("Error", {}).get("Code") or "")
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code, status


def _retried(err: bce.ClientError) -> bool:
    return bool((err.response or {}).get("ResponseMetadata", {}).get("RetryAttempts"))


# Every operation has a total deadline, from its start to its body's last byte: botocore's
# timeouts are per network read (a trickling answer resets them) and its retries add up.
OPERATION_DEADLINE_SECONDS = 120.0
_CALLS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="r2-call")


class R2Store:
    """An `ObjectStore` on R2 (or any S3 API with R2's conditional-write semantics)."""

    def __init__(
        self,
        client: Any,
        endpoint_url: str | None = None,
        *,
        deadline_seconds: float = OPERATION_DEADLINE_SECONDS,
    ) -> None:
        self.client = client
        self.endpoint_url = redact_url(endpoint_url or client.meta.endpoint_url)
        self.deadline_seconds = deadline_seconds

    def _bounded(self, op: str, bucket: str, key: str | None, call: Callable[[], T]) -> T:
        """`call()` (one boto3 operation, its retries and its body) within the deadline. A
        wait past `ANNOUNCE_AFTER_SECONDS` says so in one line; past the deadline the call is
        abandoned in its worker thread (botocore's own timeouts end it later) and fails as
        `StorageUnavailable`."""
        target = f"{key} in bucket {bucket}" if key else f"bucket {bucket}"
        what = f"R2 {op} of {target}"
        future = _CALLS.submit(call)
        wait = self.deadline_seconds - ANNOUNCE_AFTER_SECONDS

        def announce() -> None:
            announce_wait(
                what,
                wait,
                f"no answer from {self.endpoint_url} after {ANNOUNCE_AFTER_SECONDS:g} s "
                f"(botocore retries transient errors); gives up at {self.deadline_seconds:g} s",
            )

        with watchdog().watch(ANNOUNCE_AFTER_SECONDS, announce):
            try:
                return future.result(timeout=self.deadline_seconds)
            except FutureTimeout:
                future.cancel()
                raise StorageUnavailable(
                    f"{what} did not complete within {self.deadline_seconds:g} s at "
                    f"{self.endpoint_url}"
                ) from None

    def describe(self) -> str:
        return f"R2 {self.endpoint_url}"

    def __repr__(self) -> str:
        return f"R2Store({self.endpoint_url!r})"

    # -- errors ------------------------------------------------------------------------

    def _translate(self, err: Exception, op: str, bucket: str, key: str | None) -> StorageError:
        url = self.endpoint_url
        target = f"{key} in bucket {bucket}" if key else f"bucket {bucket}"
        if isinstance(err, _CONNECTION_ERRORS):
            kind = (
                "timed out reaching" if "timeout" in type(err).__name__.lower() else "cannot reach"
            )
            return StorageUnavailable(f"{kind} R2 endpoint {url} (bucket {bucket})")
        if isinstance(err, bce.NoCredentialsError | bce.PartialCredentialsError):
            return AccessDenied(f"no R2 credentials for bucket {bucket} at {url}")
        if isinstance(err, bce.ClientError):
            code, status = _code_and_status(err)
            label = code if code and not code.isdigit() else f"HTTP {status}"
            if code == "NoSuchBucket":
                return BucketNotFound(f"bucket {bucket} does not exist at {url}")
            if code in _CREDENTIAL_CODES or status in (401, 403):
                return AccessDenied(
                    f"R2 refused the credentials for bucket {bucket} at {url} ({label})"
                )
            if code == "PreconditionFailed" or status == 412:
                return PreconditionFailed(f"{target} at {url} changed since it was read ({label})")
            if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
                return StorageUnavailable(f"R2 {op} of {target} failed at {url} ({label})")
            return StorageError(f"R2 {op} of {target} failed at {url} ({label})")
        if isinstance(err, bce.BotoCoreError):
            return StorageError(f"R2 {op} of {target} failed at {url} ({type(err).__name__})")
        raise err

    def _credential_code(self, bucket: str, key: str) -> str | None:
        """HEAD errors carry no body; ask once more with a 1-byte GET to learn R2's error code."""
        try:
            self.client.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")
        except bce.ClientError as err:
            code, _ = _code_and_status(err)
            return code if code and not code.isdigit() else None
        except Exception:
            return None
        return None

    # -- reads -------------------------------------------------------------------------

    def get(self, bucket: str, key: str) -> StoredObject | None:
        try:
            response, body = self._bounded("GET", bucket, key, lambda: self._get(bucket, key))
        except bce.ClientError as err:
            code, status = _code_and_status(err)
            if code == "NoSuchKey" or (status == 404 and code != "NoSuchBucket"):
                return None
            raise self._translate(err, "GET", bucket, key) from None
        except (bce.BotoCoreError, bce.NoCredentialsError) as err:
            raise self._translate(err, "GET", bucket, key) from None
        etag = _unquoted(response.get("ETag") or "") or md5_hex(body)
        return StoredObject(body=body, etag=etag)

    def _get(self, bucket: str, key: str) -> tuple[dict, bytes]:
        response = self.client.get_object(Bucket=bucket, Key=key)
        return response, response["Body"].read()

    def head(self, bucket: str, key: str) -> str | None:
        """The ETag, or None. A HEAD 404 cannot tell a missing key from a missing bucket."""
        try:
            response = self._bounded(
                "HEAD", bucket, key, lambda: self.client.head_object(Bucket=bucket, Key=key)
            )
        except bce.ClientError as err:
            code, status = _code_and_status(err)
            if status == 404 and code != "NoSuchBucket":
                return None
            if status in (401, 403):
                detail = self._credential_code(bucket, key)
                if detail:
                    err.response.setdefault("Error", {})["Code"] = detail
            raise self._translate(err, "HEAD", bucket, key) from None
        except bce.BotoCoreError as err:
            raise self._translate(err, "HEAD", bucket, key) from None
        return _unquoted(response["ETag"])

    def list(self, bucket: str, prefix: str) -> list[str]:
        def listing() -> list[str]:
            keys: list[str] = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(item["Key"] for item in page.get("Contents", ()))
            return keys

        try:
            keys = self._bounded("LIST", bucket, None, listing)
        except (bce.ClientError, bce.BotoCoreError) as err:
            raise self._translate(err, "LIST", bucket, None) from None
        return sorted(keys)

    # -- writes ------------------------------------------------------------------------

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        content_type: str = JSON_CONTENT_TYPE,
        cache_control: str | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> PutResult:
        etag = md5_hex(body)
        # Skip identical bytes. With if_none_match the key must be absent, so there is nothing
        # to compare; with if_match the bytes can only be identical if if_match is our ETag.
        if not if_none_match and (if_match is None or _unquoted(if_match) == etag):
            current = self.head(bucket, key)
            if current == etag:
                return PutResult(etag=etag, written=False)
            if if_match is not None:
                raise PreconditionFailed(
                    f"{key} in bucket {bucket} at {self.endpoint_url} changed since it was read"
                )
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "ContentMD5": base64.b64encode(
                hashlib.md5(body, usedforsecurity=False).digest()
            ).decode(),
        }
        if cache_control is not None:
            kwargs["CacheControl"] = cache_control
        if if_match is not None:
            kwargs["IfMatch"] = _quoted(if_match)
        if if_none_match:
            kwargs["IfNoneMatch"] = "*"
        try:
            response = self._bounded("PUT", bucket, key, lambda: self.client.put_object(**kwargs))
        except bce.ClientError as err:
            code, status = _code_and_status(err)
            # S3 (and moto) answer If-Match on a missing key with 404 NoSuchKey, R2 with 412;
            # 409 ConditionalRequestConflict is S3's "another conditional write is running".
            conditional = if_match is not None or if_none_match
            precondition = (
                code == "PreconditionFailed"
                or status == 412
                or (conditional and (code == "ConditionalRequestConflict" or status == 409))
                or (if_match is not None and status == 404 and code != "NoSuchBucket")
            )
            if precondition:
                if _retried(err) and self.head(bucket, key) == etag:
                    # A retried conditional PUT answered 412: the first attempt committed and
                    # lost its response. The stored bytes are ours, so the write happened.
                    return PutResult(etag=etag, written=True)
                raise PreconditionFailed(
                    f"{key} in bucket {bucket} at {self.endpoint_url} changed since it was read "
                    f"({code or status})"
                ) from None
            raise self._translate(err, "PUT", bucket, key) from None
        except bce.BotoCoreError as err:
            raise self._translate(err, "PUT", bucket, key) from None
        return PutResult(etag=_unquoted(response.get("ETag") or "") or etag, written=True)

    def delete(self, bucket: str, key: str) -> None:
        try:
            self._bounded(
                "DELETE", bucket, key, lambda: self.client.delete_object(Bucket=bucket, Key=key)
            )
        except bce.ClientError as err:
            if _code_and_status(err)[0] == "NoSuchKey":
                return
            raise self._translate(err, "DELETE", bucket, key) from None
        except bce.BotoCoreError as err:
            raise self._translate(err, "DELETE", bucket, key) from None
