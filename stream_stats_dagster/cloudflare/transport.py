"""Sending to Cloudflare: one bounded HTTP attempt, what its answer means, and retries.

Both APIs (GraphQL analytics in `graphql`, Stream REST in `rest`) fail the same ways: 429,
5xx, timeouts, refused connections, "budget depleted" in a 200, bodies cut short. This module
is the one place that knows them: `Transport.attempts` paces, sends (with a total deadline and
a body-size cap that httpx's per-read timeouts do not give), classifies the answer (fatal at
once, or transient) and retries what is transient, announcing every long wait.

The API token lives only in the httpx client's default headers; every message built here goes
through `scrub` (`ScrubbedLog` for log lines), so neither exceptions nor logs can show it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, NoReturn, TypeVar

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_exponential,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from ..dates import UTC
from ..progress import announce_wait, watchdog
from . import queries
from .errors import (
    CloudflareAuthError,
    CloudflareError,
    CloudflareQueryError,
    CloudflareResponseError,
    CloudflareUnavailableError,
    one_line,
    scrub,
)
from .pacing import Pacer, check_wait, wait_refusal

T = TypeVar("T")

# Error texts (any HTTP status, including 200) and what they mean; lower-case substrings.
_AUTH_TEXT = (
    "not authorized",
    "unauthorized",
    "does not have access",
    "authentication error",
    "invalid api token",
    "forbidden",
)
_TRANSIENT_TEXT = (
    "budget depleted",
    "rate limit",  # "rate limiter budget depleted", "has exceeded its rate limit"
    "try again later",
    "try again after",
    "too many queries in progress",
    "unable to execute query",
    "quota exceeded",
    "too many requests",
    "consider throttling",
)
_TOO_BIG_TEXT = ("too many nodes", "excessive resources")
_ROUTE_TEXT = ("could not route", "no route for")  # a 404 that is about the URL, not the video
_WAIT_IN_TEXT = re.compile(r"after (\d+) ?(second|sec|s|minute|min)", re.IGNORECASE)


@dataclass(frozen=True)
class ClientLimits:
    """Budgets, retries and waits. Defaults stay under Cloudflare's limits with a margin
    (300 nodes / 1200 calls per 5 minutes) and wait out at most one full window."""

    nodes_per_window: int = 280
    calls_per_window: int = 1100
    window_seconds: float = 300.0
    max_nodes_per_request: int = 12
    # rows per creator/country page: Cloudflare's maximum, lower if an account's maxPageSize is
    page_size: int = queries.MAX_PAGE_SIZE
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    max_wait_seconds: float = 330.0  # any single wait (pacing or retry-after)
    deadline_seconds: float = 3600.0  # all waits of one public call together
    timeout_seconds: float = 30.0  # one attempt, from its start to the body's last byte
    max_pages: int = 100  # keyset pages of one day's list (1M rows at 10,000 a page)
    # Stream list pages (1M videos at 1,000 a page), raised to twice the pages the account's
    # `total` (from the first page) needs, up to `max_list_pages_for_total`: 10x the seed's
    # platform is ~1M videos, a whole listing of it ~1,040 pages
    max_list_pages: int = 1000
    max_list_pages_for_total: int = 20_000
    max_body_bytes: int = 256 * 2**20  # one answer; a body that never ends is cut here
    announce_after_seconds: float = 10.0  # longer waits (and unanswered requests) are announced
    malformed_body_retries: int = 2  # bodies that are not JSON (truncated) retried this often

    def __post_init__(self) -> None:
        if not 1 <= self.max_nodes_per_request <= self.nodes_per_window:
            raise ValueError("max_nodes_per_request must be in 1..nodes_per_window")
        if not 1 <= self.page_size <= queries.MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be in 1..{queries.MAX_PAGE_SIZE}")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


@dataclass
class ClientStats:
    """What the client spent. Every HTTP attempt counts, retries included (Cloudflare counts
    them too)."""

    graphql_requests: int = 0
    nodes: int = 0
    rest_calls: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {
                f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")
            }


class _Retry(Exception):
    """Internal: this attempt failed transiently."""

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        malformed: bool = False,
        hold: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.malformed = malformed
        self.unreachable = unreachable  # no HTTP answer at all (refused, timed out)
        self.hold = hold  # Cloudflare blocked us: stop every sender for the wait, not just this one


class Transport:
    """One client's way to Cloudflare: bounded HTTP attempts, their classification, retries.

    Shared by `graphql.Analytics` and `rest.Videos` of one `CloudflareClient`, which owns the
    limits, the counters, the scrubbed log and the pacer handed in here."""

    def __init__(
        self,
        base_url: str,
        account_id: str,
        api_token: str,
        *,
        http_transport: httpx.BaseTransport | None,
        limits: ClientLimits,
        stats: ClientStats,
        log: ScrubbedLog,
        pacer: Pacer,
        clock: Callable[[], float],
        sleep: Callable[[float], Any],
    ) -> None:
        self.base_url = base_url
        self.account_id = account_id
        self.limits = limits
        self.stats = stats
        self.log = log
        self.pacer = pacer
        self.clock = clock
        self._token = api_token
        self.sleep = sleep
        self._http = httpx.Client(
            transport=http_transport,
            timeout=httpx.Timeout(limits.timeout_seconds),
            headers={"Authorization": f"Bearer {api_token}", "User-Agent": "stream-stats-dagster"},
        )

    def close(self) -> None:
        self._http.close()

    def deadline(self) -> float:
        """When the waits of a public call starting now must be over (`deadline_seconds`)."""
        return self.clock() + self.limits.deadline_seconds

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP attempt with a total deadline, counted from its start.

        httpx's timeouts are per network operation: a server that sends one byte every few
        seconds resets them for ever. So the body is read in chunks against the attempt's
        deadline (`timeout_seconds`) and cut at `max_body_bytes`; a late or endless answer is
        an `httpx.ReadTimeout` like a silent one, retried and then failed the same way."""
        limits = self.limits
        started = time.monotonic()
        with self._http.stream(method, url, **kwargs) as response:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > limits.max_body_bytes:
                    raise httpx.ReadTimeout(
                        f"the answer exceeded {limits.max_body_bytes:,} bytes",
                        request=response.request,
                    )
                if time.monotonic() - started > limits.timeout_seconds:
                    raise httpx.ReadTimeout(
                        f"the answer was not complete after {limits.timeout_seconds:g} s "
                        f"({size:,} bytes so far)",
                        request=response.request,
                    )
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=b"".join(chunks),
            request=response.request,
        )

    def check(
        self, response: httpx.Response, what: str, *, graphql: bool, not_found_ok: bool = False
    ) -> Any:
        """Classify one response: return its JSON body, or raise a CloudflareError (fatal) or
        _Retry (transient). `None` means a genuine 404 when `not_found_ok`."""
        status = response.status_code
        try:
            body, parsed = response.json(), True
        except (json.JSONDecodeError, UnicodeDecodeError):
            body, parsed = None, False
        # A JSON response cut short (connection died mid-body): retried a couple of times.
        truncated = not parsed and (
            "json" in response.headers.get("content-type", "")
            or response.content.lstrip()[:1] in (b"{", b"[")
        )
        messages = _error_messages(body)
        detail = "; ".join(messages) if messages else _snippet(response)
        lower = " ".join(messages).lower()
        cause = f"{what}: HTTP {status}: {detail}"

        if status in (401, 403) or any(t in lower for t in _AUTH_TEXT):
            permission = "Account Analytics: Read" if graphql else "Stream: Read"
            raise CloudflareAuthError(
                f"{what}: Cloudflare refused the API token (HTTP {status}: {detail}); "
                f"check the token and its permissions ({permission}) for account {self.account_id}"
            )
        if any(t in lower for t in _TOO_BIG_TEXT):
            raise CloudflareQueryError(cause, splittable=True)
        transient_text = any(t in lower for t in _TRANSIENT_TEXT)
        if status == 429 or status >= 500 or transient_text:
            retry_after = _retry_after(response.headers.get("retry-after"))
            if retry_after is None and transient_text:
                retry_after = _wait_in_text(lower)
            blocked = status == 429 or "budget" in lower or "rate limit" in lower
            raise _Retry(f"HTTP {status}: {detail}", retry_after=retry_after, hold=blocked)
        if truncated or (status == 200 and not parsed):
            raise _Retry(
                f"HTTP {status} with a body that is not JSON (truncated?): {_snippet(response)}",
                malformed=True,
            )
        if status == 404 and not_found_ok:
            if parsed and isinstance(body, dict) and not any(t in lower for t in _ROUTE_TEXT):
                return None
            raise CloudflareQueryError(
                f"{cause} (not a Cloudflare 'video not found': check api_base_url and account id)"
            )
        if status != 200:
            raise CloudflareQueryError(
                f"{cause}" + ("" if messages else f" (request to {response.url})")
            )
        if not isinstance(body, dict):
            raise CloudflareResponseError(
                f"{what}: expected a JSON object, got {type(body).__name__}"
            )
        if messages:
            raise CloudflareQueryError(f"{what}: Cloudflare rejected it: {detail}")
        if not graphql and body.get("success") is False:
            raise CloudflareResponseError(f"{what}: success=false without an error message")
        return body

    def attempts(
        self,
        what: str,
        send: Callable[[], httpx.Response],
        interpret: Callable[[httpx.Response], T],
        pace: Callable[[], float],
        deadline: float,
        *,
        graphql: bool = False,
    ) -> T:
        """Pace, send, interpret; retry transient failures (tenacity) with backoff honouring
        retry-after.

        Messages count the attempts of this call. A wait longer than `announce_after_seconds`
        is announced before it starts (`progress.announce_wait`), and so is a request still
        unanswered after that long. A server that never answers at all (refused, timed out on
        every attempt) fails as not transient: this call already retried it, and a Dagster step
        retry would only repeat the silence."""
        retries = _Retries(self, what, deadline, graphql=graphql)
        try:
            for attempt in retries.retrying():
                with attempt:
                    self.stats.add(waited_seconds=pace())
                    response = self._exchange(what, attempt.retry_state.attempt_number, send)
                    result = interpret(response)
            return result
        except CloudflareError as e:
            clean = scrub(e.message, self._token)
            if clean != e.message:
                e.args = (clean,)
            raise

    def _exchange(
        self, what: str, attempt: int, send: Callable[[], httpx.Response]
    ) -> httpx.Response:
        """One attempt's request and answer. No answer is a transient `_Retry` (marked
        `unreachable` if nothing answered at all); a request that cannot be made is fatal."""
        try:
            with self._watch(what, attempt):
                return send()
        except httpx.TimeoutException as e:
            detail = str(e) or type(e).__name__
            raise _Retry(
                f"no complete answer within {self.limits.timeout_seconds:g} s ({detail})",
                unreachable=True,
            ) from None
        except httpx.ConnectError as e:
            raise _Retry(f"cannot connect ({e})", unreachable=True) from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as e:
            raise _Retry(f"connection error ({type(e).__name__}: {e})") from None
        except httpx.RequestError as e:
            raise CloudflareResponseError(
                f"{what}: request failed: {type(e).__name__}: {e}"
            ) from None

    def announce(self, what: str, seconds: float, why: str) -> None:
        """A wait line on the waits logger and in the run's log, without the token."""
        line = announce_wait(what, seconds, why, clean=lambda text: scrub(text, self._token))
        self.log.warning(f"waiting: {line}")

    @contextlib.contextmanager
    def _watch(self, what: str, attempt: int) -> Iterator[None]:
        """Announce a request that has no answer after `announce_after_seconds` (a silent
        server), saying when its attempt gives up."""
        limits = self.limits
        after, timeout = limits.announce_after_seconds, limits.timeout_seconds
        if timeout <= after:  # the attempt ends (answer or timeout) before it is worth a line
            yield
            return

        def announce() -> None:
            self.announce(
                f"{what}, attempt {attempt}/{limits.max_attempts}",
                timeout - after,
                f"no answer from {self.base_url} after {after:g} s; this attempt gives up "
                f"at its {timeout:g} s timeout",
            )

        with watchdog().watch(after, announce):
            yield


class _Retries:
    """The retry policy of one `Transport.attempts` call, as tenacity's parts.

    - retry: what `check` and `_exchange` classify as transient (`_Retry`: 429, 5xx,
      Cloudflare's rate-limit and busy texts, bodies cut short, timeouts, connection errors);
    - wait: exponential backoff with equal jitter (half of `backoff_base_seconds * 2**(n-1)`,
      capped at `backoff_max_seconds`, for sure and half at random), or the wait Cloudflare
      named (`retry-after`, "try again after 5 minutes") if that is longer;
    - stop: after `max_attempts` attempts, after `malformed_body_retries` retries of bodies
      that are not JSON, or when the next wait is longer than `max_wait_seconds` or would end
      past the call's deadline; then `give_up` raises the one-line error that says which;
    - before_sleep: hold the pacer if Cloudflare blocked us, and log or announce the wait;
    - sleep: the client's (a fake clock in tests), counted in `ClientStats`."""

    def __init__(self, transport: Transport, what: str, deadline: float, *, graphql: bool) -> None:
        self.transport = transport
        self.limits = transport.limits
        self.what = what
        self.deadline = deadline
        self.graphql = graphql
        self.started = transport.clock()
        self.malformed = 0  # attempts whose body was not JSON
        self.unreachable = 0  # attempts that got no HTTP answer at all

    def retrying(self) -> Retrying:
        limits = self.limits
        half = {
            "multiplier": limits.backoff_base_seconds / 2,
            "max": limits.backoff_max_seconds / 2,
        }
        return Retrying(
            retry=retry_if_exception_type(_Retry),
            after=self.count,
            wait=_WaitHinted(wait_exponential(**half) + wait_random_exponential(**half)),
            stop=stop_any(
                stop_after_attempt(limits.max_attempts), self.too_many_malformed, self.wait_refused
            ),
            before_sleep=self.before_sleep,
            sleep=self.sleep,
            retry_error_callback=self.give_up,
        )

    def count(self, state: RetryCallState) -> None:
        failure = _failure(state)
        self.malformed += failure.malformed
        self.unreachable += failure.unreachable

    def too_many_malformed(self, state: RetryCallState) -> bool:
        return self.malformed > self.limits.malformed_body_retries

    def wait_refused(self, state: RetryCallState) -> bool:
        now = self.transport.clock()
        refusal = wait_refusal(
            state.upcoming_sleep, self.limits.max_wait_seconds, self.deadline, now
        )
        return refusal is not None

    def before_sleep(self, state: RetryCallState) -> None:
        failure, delay, attempt = _failure(state), state.upcoming_sleep, state.attempt_number
        limits, transport = self.limits, self.transport
        if failure.hold:
            transport.pacer.hold(delay, graphql=self.graphql)
        why = (
            f"retry {attempt}/{limits.max_attempts - 1} after attempt {attempt} "
            f"of {limits.max_attempts} got {failure.reason}"
        )
        if delay > limits.announce_after_seconds:
            transport.announce(self.what, delay, why)
        else:
            transport.log.warning(f"{self.what}: {why}; waiting {delay:.1f} s")

    def sleep(self, seconds: float) -> None:
        seconds = float(seconds)
        self.transport.sleep(seconds)
        self.transport.stats.add(retries=1, waited_seconds=seconds)

    def give_up(self, state: RetryCallState) -> NoReturn:
        """The error that ends this call, in the order the stops are checked."""
        failure, attempt = _failure(state), state.attempt_number
        limits, what, base_url = self.limits, self.what, self.transport.base_url
        if failure.malformed and self.malformed > limits.malformed_body_retries:
            raise CloudflareResponseError(
                f"{what}: {self.malformed} of {attempt} attempts got a body that is not "
                f"JSON; last: {failure.reason}",
                transient=True,
            )
        if attempt >= limits.max_attempts:
            spent = self.transport.clock() - self.started
            if self.unreachable == attempt:
                raise CloudflareUnavailableError(
                    f"{what}: {base_url} did not answer any of {attempt} attempts "
                    f"in {spent:.0f} s; last: {failure.reason}; check "
                    "CLOUDFLARE_API_BASE_URL and the network",
                    transient=False,
                )
            raise CloudflareUnavailableError(
                f"{what}: still failing after {attempt} attempts in {spent:.0f} s at "
                f"{base_url}; last error: {failure.reason}"
            )
        check_wait(  # the wait was refused: say why
            state.upcoming_sleep,
            limits.max_wait_seconds,
            self.deadline,
            self.transport.clock(),
            f"{what} (retrying {failure.reason})",
        )
        raise AssertionError("unreachable: a stop without a reason")  # pragma: no cover


class _WaitHinted(wait_base):
    """`backoff`, or the wait the failure names (`_Retry.retry_after`) if that is longer."""

    def __init__(self, backoff: wait_base) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = self.backoff(retry_state)
        hinted = _failure(retry_state).retry_after
        return delay if hinted is None else max(delay, hinted)


def _failure(state: RetryCallState) -> _Retry:
    """The transient failure of the attempt just made (the retry condition admits no other)."""
    assert state.outcome is not None
    failure = state.outcome.exception()
    assert isinstance(failure, _Retry)
    return failure


class ScrubbedLog:
    """A `logging.Logger`-like (Dagster's `context.log` too) that never receives the token:
    log lines quote Cloudflare's error texts, which could echo anything back."""

    def __init__(self, logger: Any, secret: str) -> None:
        self._logger = logger
        self._secret = secret

    def _emit(self, level: str, message: str) -> None:
        getattr(self._logger, level)(scrub(one_line(message, 600), self._secret))

    def debug(self, message: str) -> None:
        self._emit("debug", message)

    def info(self, message: str) -> None:
        self._emit("info", message)

    def warning(self, message: str) -> None:
        self._emit("warning", message)

    def error(self, message: str) -> None:
        self._emit("error", message)


def parse_time(text: Any, what: str) -> dt.datetime:
    """A time value of an answer (GraphQL buckets, REST `created`) in UTC."""
    try:
        t = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise CloudflareResponseError(f"{what}: bad time value {text!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def _error_messages(body: Any) -> list[str]:
    """Error texts from a GraphQL (`errors: [{message}]`) or REST (`errors: [{code, message}]`)
    body; `errors: null` / `[]` is no error."""
    if not isinstance(body, dict) or not body.get("errors"):
        return []
    errors = body["errors"] if isinstance(body["errors"], list) else [body["errors"]]
    out = []
    for e in errors[:5]:
        if isinstance(e, dict):
            text = str(e.get("message") or json.dumps(e, default=str))
            out.append(f"{text} [code {e['code']}]" if e.get("code") is not None else text)
        else:
            out.append(str(e))
    return [one_line(m, 200) for m in out]


def _snippet(response: httpx.Response) -> str:
    try:
        text = response.text
    except Exception:  # undecodable bytes
        text = repr(response.content[:120])
    return one_line(text, 120) if text.strip() else "(empty body)"


def _retry_after(value: str | None) -> float | None:
    """`retry-after` in seconds, or as an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - dt.datetime.now(UTC)).total_seconds())


def _wait_in_text(text: str) -> float | None:
    """ "... try again after 5 minutes" -> 300: budget errors in a 200 body have no header."""
    m = _WAIT_IN_TEXT.search(text)
    if not m:
        return None
    return float(m.group(1)) * (60 if m.group(2).startswith("m") else 1)
