"""Cloudflare Stream analytics (GraphQL) and video metadata (REST), over httpx.

`CloudflareClient` does the talking (`defs/cloudflare_resource.py` hands clients to Dagster
assets); every failure is a `CloudflareError` whose `transient` says whether a later retry
could help.
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

__all__ = [
    "ClientLimits",
    "ClientStats",
    "CloudflareAuthError",
    "CloudflareBudgetWaitError",
    "CloudflareClient",
    "CloudflareError",
    "CloudflareQueryError",
    "CloudflareResponseError",
    "CloudflareUnavailableError",
    "Pacer",
]
