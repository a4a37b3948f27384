"""Resources built from Settings: the one place where local and production differ.

Secrets reach Dagster as `EnvVar`s, so the UI shows the variable's name, never its value.
"""

from __future__ import annotations

import dagster as dg

from ..config import Settings
from .cloudflare_resource import CloudflareResource
from .io_manager import ReportIOManager
from .settings import SETTINGS
from .storage_resource import StorageResource


def storage_resource(settings: Settings) -> StorageResource:
    if settings.storage_kind == "r2":
        return StorageResource(
            kind="r2",
            endpoint_url=settings.r2_endpoint_url,
            access_key_id=dg.EnvVar("R2_ACCESS_KEY_ID"),
            secret_access_key=dg.EnvVar("R2_SECRET_ACCESS_KEY"),
            stats_bucket=settings.stats_bucket,
            log_bucket=settings.log_bucket,
            private_bucket=settings.private_bucket,
        )
    return StorageResource(
        kind="local",
        local_dir=settings.local_dir,
        stats_bucket=settings.stats_bucket,
        log_bucket=settings.log_bucket,
        private_bucket=settings.private_bucket,
    )


def cloudflare_resource(settings: Settings) -> CloudflareResource:
    if settings.source == "cloudflare":
        return CloudflareResource(
            source="cloudflare",
            api_base_url=settings.api_base_url,
            account_id=settings.account_id or "",
            api_token=dg.EnvVar("CLOUDFLARE_API_TOKEN"),
            timezone=settings.timezone,
        )
    return CloudflareResource(source="simulator", timezone=settings.timezone)


def build_resources(settings: Settings) -> dict[str, object]:
    storage = storage_resource(settings)
    return {
        "cloudflare": cloudflare_resource(settings),
        "storage": storage,
        "io_manager": ReportIOManager(storage=storage),
    }


@dg.definitions
def resources() -> dg.Definitions:
    """The resources of every asset, from the environment's settings."""
    return dg.Definitions(resources=build_resources(SETTINGS))
