"""Cloudflare Stream analytics (GraphQL) and video metadata (REST), over httpx.

`CloudflareClient` does the talking; `CloudflareResource` hands clients to Dagster assets;
every failure is a `CloudflareError` whose `transient` says whether a later retry could help.
"""

from .client import ClientLimits, ClientStats, CloudflareClient
from .errors import (
    CloudflareAuthError,
    CloudflareBudgetWaitError,
    CloudflareError,
    CloudflareQueryError,
    CloudflareResponseError,
    CloudflareUnavailableError,
)
from .pacing import Pacer
from .resource import CloudflareResource

__all__ = [
    "ClientLimits",
    "ClientStats",
    "CloudflareAuthError",
    "CloudflareBudgetWaitError",
    "CloudflareClient",
    "CloudflareError",
    "CloudflareQueryError",
    "CloudflareResource",
    "CloudflareResponseError",
    "CloudflareUnavailableError",
    "Pacer",
]
