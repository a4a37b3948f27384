"""One exception hierarchy for everything that can go wrong talking to Cloudflare.

Callers (assets, sensors, the CLI) only need two facts about a failure: what happened, in one
line, and whether trying again later could help (`transient`). Dagster maps `transient=False`
to `Failure(allow_retries=False)`, so that an expired token or an unknown field is not retried
by the run either. Messages never contain the API token: the client scrubs every message it
builds (`scrub`), including text echoed back by Cloudflare.
"""

from __future__ import annotations

from ..progress import one_line

__all__ = ["one_line"]  # re-exported for the client's modules
REDACTED = "[redacted]"


def scrub(text: str, *secrets: str | None) -> str:
    """Replace every secret (the API token) in `text`; short secrets are left alone as noise."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


class CloudflareError(Exception):
    """Base class. `transient` says whether the same call could succeed later."""

    transient: bool = False

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(one_line(message))
        if transient is not None:
            self.transient = transient

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, transient={self.transient})"


class CloudflareAuthError(CloudflareError):
    """401/403, "not authorized for that account", "does not have access to the path":
    the token is wrong, expired or lacks a permission. Retrying cannot help."""

    transient = False


class CloudflareQueryError(CloudflareError):
    """Cloudflare rejected the request itself: unknown field, parse error, limit or time range
    out of bounds, data past retention ("cannot request data older than ..."). Not transient.

    `splittable` marks rejections for size ("too many nodes", "excessive resources"), which the
    client answers by sending fewer nodes per request before giving up."""

    transient = False

    def __init__(self, message: str, *, splittable: bool = False) -> None:
        super().__init__(message)
        self.splittable = splittable


class CloudflareResponseError(CloudflareError):
    """The response could not be understood: a body that is not JSON, or JSON of an unexpected
    shape. A body that is not JSON at all (typically truncated in transit) is retried a couple
    of times (`ClientLimits.malformed_body_retries`) and, if it persists, raised with
    `transient=True`; a well-formed body of the wrong shape is raised at once, not transient
    (asking again returns the same thing)."""

    transient = False


class CloudflareUnavailableError(CloudflareError):
    """Transient failures (429, 5xx, timeouts, "budget depleted") that outlived every retry."""

    transient = True


class CloudflareBudgetWaitError(CloudflareError):
    """Staying under Cloudflare's rate limits (or honouring its `retry-after`) would need a
    wait longer than the client is allowed to sleep. Transient: a later run can succeed."""

    transient = True


class CloudflareLedgerError(CloudflareError):
    """The budget ledger shared by every process of the Dagster instance (`ledger.py`) could
    not be found, read or written: its database is unavailable, or dagster.yaml names a
    variable that is not set. Transient: the database may be back for a later run."""

    transient = True
